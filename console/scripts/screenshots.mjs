// docs/img/console-fleet.png, console-device.png and console-job.png: the console in Chromium over a
// freshly seeded local server (`make screenshots` starts one and sets CONSOLE_API_URL).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { FLAGS } from "../tests/browser.mjs";
import { call, seed } from "../tests/seed.mjs";

const BASE = process.env.CONSOLE_API_URL;
const OUT = new URL("../../docs/img/", import.meta.url).pathname;
const fleet = await seed(BASE, { steps: 1500 });
const profile = mkdtempSync(join(tmpdir(), "console-shots-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  args: FLAGS,
  headless: true,
  viewport: { width: 1280, height: 1000 },
});
try {
  const page = await browser.newPage();
  await page.goto(`${BASE}/console/#/?limit=10`);
  await page.getByText(/\d+ devices, as of/).waitFor();
  await page.locator("table.devices tbody tr").first().waitFor();
  await page.screenshot({ path: `${OUT}console-fleet.png`, fullPage: true });

  await page.goto(`${BASE}/console/#/devices/${fleet.id}`);
  await page.getByRole("button", { name: "Since registration" }).click();
  await page.getByTestId("timeline").waitFor();
  await page.getByLabel("From revision").fill("1");
  await page.getByRole("button", { name: "Compare" }).click();
  await page.getByTestId("diff").getByText("from revision 1").first().waitFor();
  await page.setViewportSize({ width: 1280, height: 1500 });
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: `${OUT}console-device.png` });

  // A firmware rollout to the roof devices, finished.
  const job = await call(BASE, "POST", "/jobs", { filter: { location: "Roof" }, patch: { firmware_version: "2.3.0" } });
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.goto(`${BASE}/console/#/jobs/${job.body.id}`);
  await page.getByTestId("job-counts").filter({ hasText: "— succeeded." }).waitFor({ timeout: 60_000 });
  await page.locator("table.results > tbody > tr").first().waitFor();
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: `${OUT}console-job.png` });
  console.log(`wrote ${OUT}console-fleet.png, console-device.png and console-job.png`);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
