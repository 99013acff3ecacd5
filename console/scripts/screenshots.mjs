// docs/img/console-fleet.png and console-device.png: the console in Chromium over a freshly seeded
// local server (`make screenshots` starts one and sets CONSOLE_API_URL).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { FLAGS } from "../tests/browser.mjs";
import { seed } from "../tests/seed.mjs";

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
  console.log(`wrote ${OUT}console-fleet.png and ${OUT}console-device.png`);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
