// Every time the console shows or takes is UTC, as the API answers it: an operator comparing the
// console with a log or the `registry` command sees the same instants.

/** `2026-12-06T10:15:00.123Z` → `2026-12-06 10:15:00Z`. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** A `datetime-local` input's value, read as UTC. */
export function fromInput(value: string): string | null {
  if (!value) return null;
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return `${withSeconds}Z`.replace(/(\.\d+)?Z$/, ".000Z");
}

/** An instant as a `datetime-local` value in UTC (to the second). */
export function toInput(instant: Date): string {
  return instant.toISOString().slice(0, 19);
}

/** The next whole second after `instant`: as the end of a range, it leaves out nothing before it. */
export function toInputCeiling(instant: Date): string {
  return toInput(new Date(Math.floor(instant.getTime() / 1000) * 1000 + 1000));
}

export function hoursBefore(instant: Date, hours: number): Date {
  return new Date(instant.getTime() - hours * 3_600_000);
}

export function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = minutes / 60;
  if (hours < 48) return `${hours.toFixed(1)} h`;
  return `${(hours / 24).toFixed(1)} d`;
}
