// The names and choices the pages show, checked against the generated API types: a status value or
// a `GET /devices` filter added to the contract is a build error until it is listed here, so no page
// silently lacks it.
import type { Query, Schemas, StatusValue } from "./api";

type Exhaustive<Missing> = [Missing] extends [never] ? true : { missing: Missing };

export const STATUS_VALUES = ["unknown", "online", "offline", "maintenance", "error", "decommissioned"] as const;
const statusesListed: Exhaustive<Exclude<StatusValue, (typeof STATUS_VALUES)[number]>> = true;

export const LIVENESS_VALUES = ["pending", "reporting", "silent"] as const;
const livenessListed: Exhaustive<Exclude<Schemas["DeviceStatus"]["liveness"], (typeof LIVENESS_VALUES)[number]>> = true;

// `view` (summary or detail) shapes the answer; it filters nothing.
export type FleetFilterName = Exclude<keyof NonNullable<Query<"/devices">>, "limit" | "cursor" | "view">;

export interface FleetFilter {
  name: FleetFilterName;
  label: string;
  choices?: readonly string[];
  placeholder?: string;
}

/** Every `GET /devices` filter, in the order the fleet page's form shows them. */
export const FLEET_FILTERS = [
  { name: "name_prefix", label: "Name starts with", placeholder: "e.g. lobby-" },
  { name: "device_type", label: "Device type", placeholder: "e.g. sensor" },
  { name: "status", label: "Status", choices: STATUS_VALUES },
  { name: "liveness", label: "Liveness", choices: LIVENESS_VALUES },
  { name: "tag", label: "Tag", placeholder: "e.g. floor-2" },
  { name: "location", label: "Location" },
  { name: "firmware_version", label: "Firmware version" },
  { name: "serial_number", label: "Serial number" },
  { name: "mac_address", label: "MAC address", placeholder: "any spelling" },
  { name: "ip_address", label: "IP address", placeholder: "IPv4 or IPv6" },
] as const satisfies readonly FleetFilter[];
const filtersListed: Exhaustive<Exclude<FleetFilterName, (typeof FLEET_FILTERS)[number]["name"]>> = true;

type StatCounts = { [K in keyof Schemas["FleetStats"]]-?: Schemas["FleetStats"][K] extends Record<string, number> ? K : never }[keyof Schemas["FleetStats"]];

/** The `/devices/stats` counts the fleet page charts, with the filter a bar links to. */
export const STAT_GROUPS: readonly { key: StatCounts; label: string; filter: FleetFilterName }[] = [
  { key: "by_status", label: "By status", filter: "status" },
  { key: "by_device_type", label: "By device type", filter: "device_type" },
  { key: "by_firmware_version", label: "By firmware version", filter: "firmware_version" },
  { key: "by_liveness", label: "By liveness", filter: "liveness" },
];

/** The status resource's fields, as the device page lists them. */
export const STATUS_FIELDS: readonly { key: keyof Schemas["DeviceStatus"]; label: string; time?: boolean }[] = [
  { key: "status", label: "Status" },
  { key: "reason", label: "Reason" },
  { key: "version", label: "Version" },
  { key: "updated_at", label: "Updated", time: true },
  { key: "liveness", label: "Liveness" },
  { key: "last_seen_at", label: "Last seen", time: true },
];

/** The detail's attributes, as the device page lists them (tags and `attributes` get their own rows). */
export const DETAIL_FIELDS: readonly { key: keyof Schemas["DeviceDetail"]; label: string; time?: boolean }[] = [
  { key: "name", label: "Name" },
  { key: "device_type", label: "Device type" },
  { key: "mac_address", label: "MAC address" },
  { key: "ip_address", label: "IP address" },
  { key: "firmware_version", label: "Firmware version" },
  { key: "serial_number", label: "Serial number" },
  { key: "location", label: "Location" },
  { key: "report_interval_s", label: "Report interval (s)" },
  { key: "config_version", label: "Config version" },
  { key: "created_at", label: "Registered", time: true },
  { key: "updated_at", label: "Updated", time: true },
];

/** Every outcome a job's result may have, as the results filter of a job's page offers them. */
export const JOB_OUTCOMES = ["changed", "unchanged", "failed", "skipped", "would_change"] as const;
const outcomesListed: Exhaustive<Exclude<Schemas["Outcome"], (typeof JOB_OUTCOMES)[number]>> = true;

void statusesListed;
void outcomesListed;
void filtersListed;
void livenessListed;
