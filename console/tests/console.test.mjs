// The console in Debian's Chromium, driven by Playwright against a running local server
// (CONSOLE_API_URL; tests/integration/test_console_browser.py starts one and runs this file).
// Every page is checked with axe-core (no serious or critical violation) and for console errors.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { FLAGS } from "./browser.mjs";
import { call, seed } from "./seed.mjs";

const BASE = process.env.CONSOLE_API_URL ?? "http://127.0.0.1:3000";
const CONSOLE = `${BASE}/console/`;
// A second server on a copy of a small registry, started with LOCAL_SCOPES=devices/read: every call
// is a read-only operator's (tests/integration/test_console_browser.py seeds it and names its devices).
const READ_ONLY = process.env.CONSOLE_READONLY_URL;
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
// Chromium's own line for an answer the test asks for on purpose (a 404, a 412).
const EXPECTED_FAILURE = /^Failed to load resource: the server responded with a status of 4\d\d/;

let profile;
let browser;
let fleet;

before(async () => {
  fleet = await seed(BASE, { steps: 300 });
  profile = mkdtempSync(join(tmpdir(), "console-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    args: FLAGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
  // The pages read "now" from the server's clock, as a user's browser agrees with the API's. Under
  // `make test-future` they would not: the server runs on a clock shifted years ahead, and Chromium
  // on the real one (it cannot run under libfaketime; docs/reliability.md, "Any date"). A second
  // more, so that the pages are never behind the last write (the offset is measured after it).
  await browser.clock.install({ time: Date.now() + fleet.clockOffset + 1000 });
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** A page of the console with its console errors and uncaught exceptions collected. */
async function open(hash, { expectFailures = false, base = BASE } = {}) {
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  const errors = [];
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    if (expectFailures && EXPECTED_FAILURE.test(message.text())) return;
    errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${base}/console/${hash}`);
  return {
    page,
    async done() {
      assert.deepEqual(errors, [], "console errors");
      await page.close();
    },
  };
}

async function axeClean(page, what) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(serious, [], `axe on ${what}`);
}

const rows = (page) => page.locator("table.devices tbody tr");
const names = async (page) => page.locator("table.devices tbody tr td:first-child").allTextContents();

async function apiNames(query) {
  const found = [];
  let cursor = null;
  do {
    const params = new URLSearchParams({ ...query, limit: "100", ...(cursor ? { cursor } : {}) });
    const page = await call(BASE, "GET", `/devices?${params}`);
    found.push(...page.body.items.map((d) => d.name));
    cursor = page.body.next_cursor;
  } while (cursor);
  return found.sort();
}

test("the fleet page charts the counts, applies every filter and pages with the cursor", async () => {
  const { page, done } = await open("");
  await page.getByRole("table", { name: "By status" }).waitFor();
  await page.getByText(/\d+ devices, as of/).waitFor();
  await axeClean(page, "the fleet page");

  // The form: a status, then two filters at once (served by one index, the other applied).
  await page.getByLabel("Status", { exact: true }).selectOption("error");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await page.waitForURL(/status=error/);
  await page.locator("table.devices").waitFor();
  assert.deepEqual((await names(page)).sort(), await apiNames({ status: "error" }));
  assert.ok((await page.locator("table.devices .pill[class*='status-']").allTextContents()).every((s) => s === "error"));
  await page.getByRole("button", { name: "Clear" }).click();
  await page.getByLabel("Tag").fill("critical");
  await page.getByLabel("Name starts with").fill("roof-");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await page.waitForURL(/tag=critical/);
  await page.locator("table.devices tbody tr").first().waitFor();
  assert.deepEqual((await names(page)).sort(), await apiNames({ tag: "critical", name_prefix: "roof-" }));

  // Every other filter, from the address (as a link or bookmark names it): the rows the API answers.
  const cases = {
    device_type: "camera",
    location: "Loading dock",
    firmware_version: "2.1.0",
    serial_number: "SN-0007",
    mac_address: "0200.0000.0017",
    ip_address: "10.0.1.20",
  };
  for (const [name, value] of Object.entries(cases)) {
    await page.evaluate((hash) => (location.hash = hash), `#/?${name}=${encodeURIComponent(value)}`);
    // The form shows the filter the address names.
    await page.waitForFunction(([id, v]) => document.getElementById(id)?.value === v, [`filter-${name}`, value]);
    const expected = await apiNames({ [name]: value });
    assert.ok(expected.length > 0, `the seed has a device with ${name}=${value}`);
    await page.waitForFunction(
      (n) => !document.querySelector('[role="status"]') && document.querySelectorAll("table.devices tbody tr").length === n,
      expected.length,
    );
    assert.deepEqual((await names(page)).sort(), expected, name);
  }

  // Paging: 10 a page, the next page by its cursor, and back.
  await page.evaluate(() => (location.hash = "#/"));
  await page.getByLabel("Per page").selectOption("10");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await page.waitForURL(/limit=10/);
  await page.waitForFunction(() => document.querySelectorAll("table.devices tbody tr").length === 10);
  const first = await names(page);
  await page.getByRole("link", { name: "Next page" }).click();
  await page.waitForURL(/cursor=/);
  await page.getByText("page 2").waitFor();
  await page.waitForFunction(() => !document.querySelector('[role="status"]'));
  const second = await names(page);
  assert.equal(second.length, 10);
  assert.deepEqual(second.filter((name) => first.includes(name)), []);
  await page.getByRole("link", { name: "Previous page" }).click();
  await page.waitForFunction((n) => document.querySelector("table.devices tbody tr td")?.textContent === n, first[0]);
  assert.deepEqual(await names(page), first);
  assert.equal(await rows(page).count(), 10);
  await done();
});

test("a device page shows its attributes, a status timeline over a chosen range, each change and a diff between two revisions", async () => {
  const { page, done } = await open(`#/devices/${fleet.id}`);
  await page.getByRole("heading", { name: "lobby-sensor-01" }).waitFor();
  await page.getByText("Lobby, east wall").first().waitFor();
  await page.getByRole("button", { name: "Since registration" }).click();
  // online → maintenance → online → error → online, after "unknown" at registration. The click
  // re-renders the chart: the 7-day chart drawn before it may still be on the page for a moment,
  // so the test waits for the new one rather than counting whichever is there.
  const drawn = await page
    .waitForFunction(() => document.querySelectorAll('[data-testid="timeline"] rect').length >= 5, null, { timeout: 15_000 })
    .then(
      () => true,
      () => false,
    );
  if (!drawn) {
    const chart = page.getByTestId("timeline");
    const titles = await chart.locator("rect title").allTextContents();
    assert.fail(`one band per status period: ${await chart.getAttribute("aria-label")}: ${titles.join("; ")}`);
  }
  const legend = await page.locator("table.legend tbody th").allTextContents();
  for (const status of ["online", "maintenance", "error"]) assert.ok(legend.some((t) => t.includes(status)), status);

  // A range of one's own: from an hour before the registration, so the chart starts with the
  // time the device did not exist yet.
  const registered = (await call(BASE, "GET", `/devices/${fleet.id}/history?order=asc&limit=1`)).body.items[0].at;
  const from = new Date(Date.parse(registered) - 3_600_000).toISOString().slice(0, 19);
  await page.getByLabel("From (UTC)").fill(from);
  // The server's clock, not this process's (they differ under faketime: the seed measured by how much).
  await page.getByLabel("To (UTC)").fill(new Date(Date.now() + fleet.clockOffset + 60_000).toISOString().slice(0, 19));
  await page.getByRole("button", { name: "Show" }).first().click();
  await page.waitForFunction((start) => document.querySelector('[data-testid="timeline"]')?.getAttribute("aria-label")?.startsWith(`Status from ${start}`), `${from.replace("T", " ")}Z`);
  assert.ok((await page.locator("table.legend tbody th").allTextContents()).some((t) => t.includes("not registered")));

  // Each history entry lists what it changed, old and new.
  const upgrade = page
    .locator("ol.history li")
    .filter({ has: page.locator(".kind-config") })
    .filter({ has: page.locator("tbody th", { hasText: /^firmware_version$/ }) })
    .last();
  const row = upgrade.locator("tbody tr").filter({ has: page.locator("th", { hasText: /^firmware_version$/ }) });
  assert.deepEqual(await row.locator("td").allTextContents(), ["2.1.0", "2.2.1"]);

  const latest = (await call(BASE, "GET", `/devices/${fleet.id}/history?limit=1`)).body.items[0].revision;
  await page.getByLabel("From revision").fill("1");
  await page.getByLabel("To revision").fill(String(latest));
  await page.getByRole("button", { name: "Compare" }).click();
  const diff = page.getByTestId("diff");
  await diff.getByText(`from revision 1 to revision ${latest}`).waitFor();
  const fields = await diff.locator("tbody th").allTextContents();
  for (const field of ["firmware_version", "location", "tags", "status"]) assert.ok(fields.includes(field), field);
  assert.ok(await diff.getByText("2.1.0").isVisible());

  // As of its last change: a time the server has passed. The field's default is the browser's
  // "now", which this browser's clock (a second ahead: before()) may still be ahead of: a 422.
  const lastChange = (await call(BASE, "GET", `/devices/${fleet.id}/history?limit=1`)).body.items[0].at;
  await page.getByLabel("As of (UTC)").fill(lastChange.slice(0, 19));
  await page.getByRole("button", { name: "Show" }).last().click();
  await page.getByTestId("as-of").waitFor();
  await axeClean(page, "the device page");
  await done();
});

test("a revert based on what the page opened with is refused once the device changed, and works after a reload", async () => {
  const { page, done } = await open(`#/devices/${fleet.id}`, { expectFailures: true });
  await page.getByRole("heading", { name: "lobby-sensor-01" }).waitFor();
  // Someone else changes the device after the page opened.
  await call(BASE, "PATCH", `/devices/${fleet.id}`, { location: "Lobby, west wall" });
  await page.locator('li[data-revision="1"]').getByRole("button", { name: "Revert to revision 1" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel(/Reason/).fill("undo the rollout");
  await axeClean(page, "the revert confirmation");
  await dialog.getByRole("button", { name: "Revert to revision 1" }).click();
  await page.getByRole("alert").filter({ hasText: "changed since you opened it — reload" }).waitFor();

  await page.getByRole("button", { name: "Reload" }).click();
  await page.getByText("Lobby, west wall").first().waitFor();
  await page.locator('li[data-revision="1"]').getByRole("button", { name: "Revert to revision 1" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revert to revision 1" }).click();
  await page.getByRole("status").filter({ hasText: "Reverted to revision 1." }).waitFor();
  await page.getByText("Reverted to revision 1.", { exact: false }).last().waitFor();
  const detail = (await call(BASE, "GET", `/devices/${fleet.id}`)).body;
  assert.equal(detail.location, "Lobby");
  assert.equal(detail.firmware_version, "2.1.0");
  await done();
});

test("a credential's secret is shown once when created, and revoking asks first", async () => {
  const { page, done } = await open(`#/devices/${fleet.id}`);
  const section = page.getByRole("region", { name: "Device credentials" });
  await section.locator("tbody tr").first().waitFor();
  const before = await section.locator("tbody tr").count();
  await section.getByRole("button", { name: "Create a credential" }).click();
  const secret = await section.getByLabel(/Secret of/).inputValue();
  assert.ok(secret.length >= 22, "a secret of at least 128 bits");
  await section.getByRole("button", { name: "I have copied it" }).click();
  assert.equal(await section.getByLabel(/Secret of/).count(), 0);
  await page.waitForFunction((n) => document.querySelectorAll('[aria-labelledby="credentials-title"] tbody tr').length === n, before + 1);
  await section.getByRole("button", { name: /Revoke/ }).last().click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
  await page.waitForFunction((n) => document.querySelectorAll('[aria-labelledby="credentials-title"] tbody tr').length === n, before);
  await done();
});

test("the holders page lists who held a MAC or IP address, and when", async () => {
  const { page, done } = await open("#/holders");
  await page.getByLabel("Address kind").selectOption("ip");
  await page.getByLabel("Address", { exact: true }).fill("10.9.9.9");
  await page.getByRole("button", { name: "Look up" }).click();
  await page.getByRole("heading", { name: /Holders of IP address/ }).waitFor();
  // Both devices that had it (what an earlier test reverted may hold it no more), newest first.
  const held = (await call(BASE, "GET", "/ip-addresses/10.9.9.9/holders")).body.items;
  assert.deepEqual(held.map((h) => h.device_id).sort(), [fleet.id, fleet.deleted].sort());
  await page.waitForFunction((n) => document.querySelectorAll("main tbody tr").length === n, held.length);
  assert.deepEqual(await page.locator("main tbody td:first-child").allTextContents(), held.map((h) => h.device_id));
  assert.equal(await page.getByText("holds it now").count(), held.filter((h) => h.until === null).length);
  await axeClean(page, "the holders page");
  await page.goto(`${CONSOLE}#/holders?kind=mac&address=0200.0000.aa01`);
  await page.waitForFunction(() => document.querySelectorAll("main tbody tr").length === 1);
  await done();
});

test("a deleted device can be restored, and an error shows the problem's detail", async () => {
  const unknown = "00000000-0000-4000-8000-000000000000";
  let expected;
  try {
    await call(BASE, "GET", `/devices/${unknown}/history`);
  } catch (error) {
    expected = JSON.parse(error.message.replace(/^[^{]*/, "")).detail;
  }
  const missing = await open(`#/devices/${unknown}`, { expectFailures: true });
  await missing.page.getByRole("alert").filter({ hasText: expected }).waitFor();
  await missing.done();

  const { page, done } = await open(`#/devices/${fleet.deleted}`);
  await page.getByRole("heading", { name: /retired-gateway/ }).waitFor();
  await axeClean(page, "a deleted device's page");
  await page.getByRole("button", { name: "Restore this device" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Restore" }).click();
  await page.getByRole("heading", { name: "Attributes" }).waitFor();
  assert.equal((await call(BASE, "GET", `/devices/${fleet.deleted}`)).body.name, "retired-gateway");
  await done();
});

test("liveness: the fleet filters silent devices, the chart counts them, and a device page says when it was last seen", async () => {
  // The quiet device never reports: silent once it has missed its reports and a sweep has run.
  const deadline = Date.now() + 60_000;
  while (!(await apiNames({ liveness: "silent" })).includes("quiet-camera")) {
    assert.ok(Date.now() < deadline, "the quiet device never became silent");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const { page, done } = await open("#/?liveness=silent");
  await page.waitForFunction(() => document.getElementById("filter-liveness")?.value === "silent");
  const expected = await apiNames({ liveness: "silent" });
  await page.waitForFunction((n) => !document.querySelector('[role="status"]') && document.querySelectorAll("table.devices tbody tr").length === n, expected.length);
  assert.deepEqual((await names(page)).sort(), expected);
  assert.ok((await page.locator("table.devices .pill.liveness-silent").count()) === expected.length);
  await page.getByRole("table", { name: "By liveness" }).waitFor();

  await page.goto(`${CONSOLE}#/devices/${fleet.quiet}`);
  const status = page.getByRole("region", { name: "Status" });
  await status.locator(".pill.liveness-silent").waitFor();
  assert.equal(await status.locator("dt:text-is('Last seen') + dd").textContent(), "—");
  await page.getByLabel("Show", { exact: true }).selectOption("liveness");
  await page.locator("ol.history li .kind-liveness").first().waitFor();

  await page.goto(`${CONSOLE}#/devices/${fleet.id}`);
  await page.getByRole("region", { name: "Status" }).locator(".pill.liveness-reporting").waitFor();
  const seen = (await call(BASE, "GET", `/devices/${fleet.id}/status`)).body.last_seen_at;
  assert.equal(await page.getByRole("region", { name: "Status" }).locator("dt:text-is('Last seen') + dd").textContent(), seen.replace("T", " ").replace(/\.\d+Z$/, "Z"));
  await axeClean(page, "a device page with its liveness");
  await done();
});

const firmwareOf = async (query) => {
  const found = {};
  let cursor = null;
  do {
    const params = new URLSearchParams({ ...query, limit: "100", ...(cursor ? { cursor } : {}) });
    const page = await call(BASE, "GET", `/devices?${params}&view=detail`);
    for (const device of page.body.items) found[device.id] = device.firmware_version;
    cursor = page.body.next_cursor;
  } while (cursor);
  return found;
};
const JOB_DONE = 60_000; // the local server's worker runs the job; a loaded machine is slow, not wrong

test("a job is previewed as a dry run, runs with its progress to the end, and is rolled back", async () => {
  const before = await firmwareOf({ location: "Roof" });
  const roof = Object.keys(before).length;
  assert.ok(roof > 0);
  const { page, done } = await open("#/jobs");
  await page.getByRole("heading", { name: "New job" }).waitFor();
  await axeClean(page, "the jobs page");
  await page.locator("#job-location").fill("Roof");
  await page.getByLabel(/Changes: a JSON merge patch/).fill('{"firmware_version": "3.0.0"}');
  await page.getByRole("button", { name: "Preview (dry run)" }).click();

  // The preview: a dry run, which lists what would change and changes nothing.
  await page.waitForURL(/#\/jobs\/[0-9a-f-]+$/);
  const preview = page.url();
  await page.getByTestId("job-counts").filter({ hasText: "— succeeded." }).waitFor({ timeout: JOB_DONE });
  assert.match(await page.getByTestId("job-counts").textContent(), new RegExp(`^${roof} would change`));
  await page.waitForFunction((n) => document.querySelectorAll("table.results > tbody > tr").length === n, roof);
  assert.deepEqual(await firmwareOf({ location: "Roof" }), before, "a dry run changes nothing");
  await axeClean(page, "a dry run's page");

  // Run it: the progress reaches the end, and every matched device has the new firmware.
  await page.getByRole("button", { name: "Run this job" }).click();
  await page.waitForURL((url) => url.href !== preview && /#\/jobs\/[0-9a-f-]+$/.test(url.href));
  await page.getByTestId("job-counts").filter({ hasText: "— succeeded." }).waitFor({ timeout: JOB_DONE });
  assert.equal(await page.locator("#job-progress").evaluate((bar) => bar.value === bar.max), true);
  assert.match(await page.getByTestId("job-counts").textContent(), new RegExp(`^${roof} changed`));
  assert.ok(Object.values(await firmwareOf({ location: "Roof" })).every((version) => version === "3.0.0"));
  await axeClean(page, "a finished job's page");

  // Roll it back: a new job, linked to this one, that puts every device's firmware back.
  const ran = page.url();
  await page.getByRole("button", { name: "Roll back" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
  await page.waitForURL((url) => url.href !== ran);
  await page.getByText("rolls back").waitFor();
  await page.getByTestId("job-counts").filter({ hasText: "— succeeded." }).waitFor({ timeout: JOB_DONE });
  assert.deepEqual(await firmwareOf({ location: "Roof" }), before);

  await page.goto(`${CONSOLE}#/jobs`);
  await page.locator("table.jobs tbody tr").nth(2).waitFor();
  await done();
});

/** Presses Tab until the focused element matches `selector` (at most `limit` times). */
async function tabTo(page, selector, limit = 80) {
  for (let n = 0; n < limit; n++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  assert.fail(`Tab never reached ${selector}`);
}

test("a running job is cancelled from its page after a confirmation: it stops, and what it changed stays changed", async () => {
  // Devices of its own, so that the job runs for several seconds (the test server paces jobs at
  // JOB_RATE_PER_S, a page of JOB_CHUNK_SIZE devices a step: tests/integration/test_console_browser.py).
  const BAY = 40;
  const devices = Array.from({ length: BAY }, (_, n) => ({
    name: `bay-sensor-${String(n).padStart(2, "0")}`,
    device_type: "sensor",
    mac_address: `02:00:00:00:c1:${n.toString(16).padStart(2, "0")}`,
    location: "Cancel bay",
  }));
  await call(BASE, "POST", "/devices/batch", { devices });
  const { page, done } = await open("#/jobs");
  await page.getByRole("heading", { name: "New job" }).waitFor();
  const job = await call(BASE, "POST", "/jobs", { filter: { location: "Cancel bay" }, patch: { serial_number: "BAY-1" } });
  await page.goto(`${CONSOLE}#/jobs/${job.body.id}`);

  // Once it has changed a device, cancel it: a confirmation first, then the job stops.
  await page.getByTestId("job-counts").filter({ hasText: /^[1-9]\d* changed/ }).waitFor({ timeout: JOB_DONE });
  await page.getByRole("button", { name: "Cancel the job" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText("What it has changed stays changed").waitFor();
  await axeClean(page, "a running job's cancel confirmation");
  await dialog.getByRole("button", { name: "Cancel the job" }).click();
  await page.getByTestId("job-counts").filter({ hasText: "— cancelled." }).waitFor({ timeout: JOB_DONE });
  assert.equal(await page.getByRole("button", { name: "Cancel the job" }).count(), 0, "a finished job has no cancel button");

  // It stopped before the end, and each device it changed keeps the change; the rest are untouched.
  const final = (await call(BASE, "GET", `/jobs/${job.body.id}`)).body;
  assert.equal(final.state, "cancelled");
  assert.ok(final.counts.changed >= 1 && final.counts.changed < BAY, `changed ${final.counts.changed} of ${BAY}`);
  const serials = [];
  let cursor = null;
  do {
    const params = new URLSearchParams({ location: "Cancel bay", view: "detail", limit: "100", ...(cursor ? { cursor } : {}) });
    const listed = await call(BASE, "GET", `/devices?${params}`);
    serials.push(...listed.body.items.map((device) => device.serial_number));
    cursor = listed.body.next_cursor;
  } while (cursor);
  assert.equal(serials.length, BAY);
  assert.equal(serials.filter((serial) => serial === "BAY-1").length, final.counts.changed);
  assert.match(await page.getByTestId("job-counts").textContent(), new RegExp(`^${final.counts.changed} changed`));
  await axeClean(page, "a cancelled job's page");
  await done();
});

test("the console works from the keyboard: skip link, a device opened with Enter, a confirmation that Escape cancels", async () => {
  const { page, done } = await open("");
  await page.locator("table.devices tbody tr").first().waitFor();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "main");

  await tabTo(page, "table.devices tbody a");
  const name = await page.evaluate(() => document.activeElement?.textContent);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name }).waitFor();
  await page.locator('li[data-revision="1"]').waitFor();
  const before = (await call(BASE, "GET", `/devices/${new URL(page.url()).hash.split("/").pop()}/history?limit=1`)).body.items[0].revision;

  await tabTo(page, 'li[data-revision="1"] button');
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  assert.ok(await page.evaluate(() => document.querySelector("dialog")?.contains(document.activeElement)), "focus moves into the dialog");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  const after = (await call(BASE, "GET", `/devices/${new URL(page.url()).hash.split("/").pop()}/history?limit=1`)).body.items[0].revision;
  assert.equal(after, before, "Escape changed nothing");
  await done();
});

const jwt = (claims) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;

test("in AWS the console signs in with the authorization code and PKCE, and a read-only token shows no write buttons", async () => {
  const authorize = "https://signin.invalid/oauth2/authorize";
  const token = "https://signin.invalid/oauth2/token";
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.route("**/console/config.json", (route) =>
    route.fulfill({
      json: {
        api: "../",
        auth: { authorize_url: authorize, token_url: token, client_id: "console-client", scopes: ["devices/read", "devices/write"] },
        write_scope: "devices/write",
      },
    }),
  );
  await page.route(`${authorize}*`, (route) => route.fulfill({ contentType: "text/html", body: "<title>Sign in</title>" }));
  let exchange;
  await page.route(token, (route) => {
    exchange = new URLSearchParams(route.request().postData() ?? "");
    return route.fulfill({
      json: { access_token: jwt({ scope: "devices/read", username: "reader" }), expires_in: 3600 },
      headers: { "Access-Control-Allow-Origin": "*" },
    });
  });
  await page.goto(`${CONSOLE}#/devices/${fleet.id}`);
  await page.waitForURL(`${authorize}*`);
  const asked = new URL(page.url()).searchParams;
  assert.equal(asked.get("response_type"), "code");
  assert.equal(asked.get("client_id"), "console-client");
  assert.equal(asked.get("code_challenge_method"), "S256");
  assert.equal(asked.get("redirect_uri"), CONSOLE);
  assert.equal(asked.get("client_secret"), null);

  // The hosted UI sends the browser back with a code; the console exchanges it with its verifier.
  await page.goto(`${CONSOLE}?code=the-code&state=${asked.get("state")}`);
  await page.getByRole("heading", { name: "lobby-sensor-01" }).waitFor();
  assert.equal(exchange.get("grant_type"), "authorization_code");
  assert.equal(exchange.get("code"), "the-code");
  assert.equal(createHash("sha256").update(exchange.get("code_verifier")).digest("base64url"), asked.get("code_challenge"));
  assert.equal(new URL(page.url()).search, "", "the code is gone from the address");
  await page.getByText("read-only").waitFor();
  await page.getByRole("heading", { name: "Device credentials" }).waitFor();
  await page.locator("ol.history li").first().waitFor();
  assert.equal(await page.getByRole("button", { name: /Revert|Create a credential|Revoke/ }).count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

const WRITE_BUTTONS = /Revert|Restore|Create a credential|Revoke|Preview|Run this job|Cancel the job|Roll back/;

test("a read-only operator sees no write button, and a write forced anyway shows the API's refusal", { skip: !READ_ONLY && "CONSOLE_READONLY_URL not set" }, async () => {
  const { CONSOLE_READONLY_DEVICE: id, CONSOLE_READONLY_DELETED: deleted, CONSOLE_READONLY_JOB: job } = process.env;
  const fleetPage = await open("", { base: READ_ONLY });
  await fleetPage.page.locator("table.devices tbody tr").first().waitFor();
  await fleetPage.page.getByText("read-only", { exact: true }).waitFor();
  await axeClean(fleetPage.page, "the fleet page, read-only");
  await fleetPage.done();

  const { page, done } = await open(`#/devices/${id}`, { base: READ_ONLY });
  await page.locator("ol.history li").nth(1).waitFor();
  await page.getByRole("region", { name: "Device credentials" }).locator("tbody tr").first().waitFor();
  assert.equal(await page.getByRole("button", { name: WRITE_BUTTONS }).count(), 0);
  await axeClean(page, "a device page, read-only");
  await page.goto(`${READ_ONLY}/console/#/devices/${deleted}`);
  await page.getByText("This device was deleted").waitFor();
  assert.equal(await page.getByRole("button", { name: WRITE_BUTTONS }).count(), 0);
  await page.goto(`${READ_ONLY}/console/#/jobs`);
  await page.locator("table.jobs tbody tr").first().waitFor();
  assert.equal(await page.getByRole("heading", { name: "New job" }).count(), 0);
  await page.goto(`${READ_ONLY}/console/#/jobs/${job}`);
  await page.getByTestId("job-counts").filter({ hasText: "— succeeded." }).waitFor();
  await page.locator("table.results > tbody > tr").first().waitFor();
  assert.equal(await page.getByRole("button", { name: WRITE_BUTTONS }).count(), 0);
  await axeClean(page, "a job's page, read-only");
  await done();

  // The API refuses the write whatever the page shows: a console told it may write (as a stale
  // config would) shows the refusal's own detail.
  const refused = await fetch(`${READ_ONLY}/devices/${id}/revert`, { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"to_revision": 1}' });
  assert.equal(refused.status, 403);
  const { detail } = await refused.json();
  const forced = await open(`#/devices/${id}`, { base: READ_ONLY, expectFailures: true });
  await forced.page.route("**/console/config.json", (route) => route.fulfill({ json: { api: "../", auth: null, write_scope: "devices/write", local_scopes: null } }));
  await forced.page.reload();
  await forced.page.locator('li[data-revision="1"]').getByRole("button", { name: "Revert to revision 1" }).click();
  await forced.page.getByRole("dialog").getByRole("button", { name: "Revert to revision 1" }).click();
  await forced.page.getByRole("alert").filter({ hasText: detail }).waitFor();
  await forced.done();
});
