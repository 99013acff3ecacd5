// A small fleet through the public API, as an operator's import would make it: 36 devices of three
// types, statuses spread over all values, tags and locations; one device ("lobby-sensor-01") with a
// life of config and status changes, a credential, and an address it took over from a deleted one.

const TYPES = ["sensor", "gateway", "camera"];
const STATUSES = ["online", "online", "online", "offline", "maintenance", "error", "unknown"];
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function call(base, method, path, body, headers = {}) {
  const response = await fetch(new URL(path, base), {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return { body: text ? JSON.parse(text) : null, etag: response.headers.get("ETag") };
}

const mac = (n) => `02:00:00:00:${String(Math.floor(n / 256).toString(16)).padStart(2, "0")}:${(n % 256).toString(16).padStart(2, "0")}`;

export async function seed(base, { steps = 600 } = {}) {
  const devices = Array.from({ length: 36 }, (_, n) => ({
    name: `${["lobby", "dock", "roof"][n % 3]}-${TYPES[n % 3]}-${String(n).padStart(2, "0")}`,
    device_type: TYPES[n % 3],
    mac_address: mac(n + 16),
    ip_address: `10.0.${Math.floor(n / 10)}.${n + 10}`,
    firmware_version: n % 4 === 0 ? "2.1.0" : "2.2.1",
    location: ["Lobby", "Loading dock", "Roof"][n % 3],
    serial_number: `SN-${String(n).padStart(4, "0")}`,
    tags: n % 2 === 0 ? ["floor-1"] : ["floor-2", "critical"],
  }));
  const batch = await call(base, "POST", "/devices/batch", { devices });
  const ids = batch.body.results.map((result) => result.device.id);
  const reports = ids.map((device_id, n) => ({ device_id, status: STATUSES[n % STATUSES.length] }));
  await call(base, "POST", "/status-reports", { reports });

  // A device that held 10.9.9.9 before it was deleted, so that the address has two holders.
  const gone = await call(base, "POST", "/devices", { name: "retired-gateway", device_type: "gateway", mac_address: "02:00:00:00:ff:01", ip_address: "10.9.9.9" });
  await call(base, "DELETE", `/devices/${gone.body.id}`);

  const made = await call(base, "POST", "/devices", {
    name: "lobby-sensor-01",
    device_type: "sensor",
    mac_address: "02:00:00:00:aa:01",
    ip_address: "10.1.0.1",
    firmware_version: "2.1.0",
    location: "Lobby",
    tags: ["floor-1"],
    attributes: { rack: "A3" },
  });
  const id = made.body.id;
  const status = (value, reason) => call(base, "PUT", `/devices/${id}/status`, { status: value, reason });
  const patch = (body) => call(base, "PATCH", `/devices/${id}`, body);
  // Spaced out, so that the timeline since registration shows each period.
  for (const step of [
    () => status("online"),
    () => patch({ firmware_version: "2.2.1", tags: ["floor-1", "critical"] }),
    () => status("maintenance", "firmware upgrade"),
    () => status("online"),
    () => patch({ location: "Lobby, east wall", ip_address: "10.9.9.9", attributes: { rack: "B1" } }),
    () => status("error", "sensor read timeout"),
    () => status("online"),
  ]) {
    await step();
    await pause(steps);
  }
  const credential = await call(base, "POST", `/devices/${id}/credentials`, {});
  // How far the server's clock is from this process's: the credential was made just now.
  const clockOffset = Date.parse(credential.body.created_at) - Date.now();
  // One ("quiet-camera") that is to report every second and never does: silent after 3 s and a sweep.
  const quiet = await call(base, "POST", "/devices", {
    name: "quiet-camera",
    device_type: "camera",
    mac_address: "02:00:00:00:ee:01",
    report_interval_s: 1,
  });
  return { ids, id, deleted: gone.body.id, clockOffset, quiet: quiet.body.id };
}
