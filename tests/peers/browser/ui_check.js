// Drives the web UI of `workflow serve` in headless Chromium (Debian's, not Playwright's own
// download): the workflow list shows the scheduled workflow's next fire time; starting a run
// from its button opens the run's page, which shows the run running, then completed, with its
// tasks coloured by state and its graph drawn; the run list shows it completed.
// Usage: node ui_check.js BASE_URL WORKFLOW_KEY
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const [base, key] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(base + "/");
    const row = page.locator("tr", { hasText: key });
    await row.waitFor({ timeout: 30000 });
    await row.getByRole("button", { name: "start" }).click();
    await page.waitForURL(/#\/runs\//, { timeout: 30000 });
    const id = decodeURIComponent(page.url().split("#/runs/")[1]);
    await page.locator('h2 .status[data-status="running"]').waitFor({ timeout: 30000 });
    await page.locator('h2 .status[data-status="completed"]').waitFor({ timeout: 60000 });
    const tasks = await page.locator("tr.task .status").allTextContents();
    // The drawn graph (embedded Mermaid): its task nodes carry the state's class.
    await page.locator("#graph svg g.node.completed").first().waitFor({ timeout: 30000 });
    const drawn = await page.locator("#graph svg g.node.completed").count();
    const output = await page.locator("#output").textContent();
    await page.goto(base + "/#/");
    const listed = page.locator(`tr.run[data-id="${id}"] .status[data-status="completed"]`);
    await listed.waitFor({ timeout: 30000 });
    console.log(JSON.stringify({ id, tasks, drawn, output: JSON.parse(output) }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
