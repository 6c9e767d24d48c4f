// Save PNG screenshots of /login and the General channel, at desktop and
// phone sizes, in light and dark colour schemes, for looking at the UI.
//
//   node end2end/screenshot.mjs OUT_DIR [BASE_URL]
//
// BASE_URL defaults to http://127.0.0.1:3000 (a server started with
// `bash scripts/run.sh`, which has the demo data). Logs in as alice.
import { chromium } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";

const [outDir, baseURL = "http://127.0.0.1:3000"] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node screenshot.mjs OUT_DIR [BASE_URL]");
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

const sizes = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
];
const schemes = ["light", "dark"];

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

// The first context writes a short conversation (if the channel is empty),
// so the screenshots show messages.
let seeded = false;
const conversation = [
  "Morning all! The release notes are up.",
  "Two lines:\nfirst line, then the second.",
  "Markup stays text: <b>bold?</b> <img src=x onerror=alert(1)>",
];

let failed = false;
try {
  for (const size of sizes) {
    for (const colorScheme of schemes) {
      const tag = `${size.width}x${size.height}-${colorScheme}`;
      const context = await browser.newContext({
        baseURL,
        viewport: { width: size.width, height: size.height },
        colorScheme,
        isMobile: size.name === "phone",
        hasTouch: size.name === "phone",
      });
      const page = await context.newPage();
      try {
        await page.goto("/login", { waitUntil: "networkidle" });
        const login = path.join(outDir, `login-${tag}.png`);
        await page.screenshot({ path: login, fullPage: true });
        console.log(login);

        await page.getByLabel("Email").fill("alice@example.com");
        await page.getByLabel("Password").fill("password");
        await page.getByRole("button", { name: "Log in", exact: true }).click();
        await page.waitForURL(/\/chat(\/|$|\?)/, { timeout: 15_000 });

        // On a phone the channel list may be behind a menu; go straight to
        // the link's address when it is not visible.
        const link = page.getByRole("link", { name: "General", exact: true });
        await link.first().waitFor({ state: "attached", timeout: 15_000 });
        if (await link.first().isVisible()) {
          await link.first().click();
        } else {
          await page.goto(await link.first().getAttribute("href"));
        }
        await page.waitForURL(/\/chat\/[^/?#]+/, { timeout: 15_000 });
        await page
          .locator('.chat-room[data-connection="connected"]')
          .waitFor({ timeout: 15_000 })
          .catch(() => console.error(`${tag}: the WebSocket did not connect within 15 s`));
        if (!seeded) {
          seeded = true;
          const box = page.getByRole("textbox", { name: "Message", exact: true });
          const log = page.getByRole("log", { name: "Messages" });
          if ((await log.locator("li").count()) === 0) {
            for (const text of conversation) {
              await box.fill(text);
              await box.press("Enter");
              await log.getByText(text.split("\n")[0]).first().waitFor({ timeout: 5_000 });
            }
          }
        }
        await page.waitForTimeout(300); // let fonts and layout settle
        const chat = path.join(outDir, `chat-general-${tag}.png`);
        await page.screenshot({ path: chat, fullPage: false });
        console.log(chat);
      } catch (err) {
        failed = true;
        console.error(`${tag}: ${err.message}`);
        await page
          .screenshot({ path: path.join(outDir, `error-${tag}.png`) })
          .catch(() => {});
      } finally {
        await context.close();
      }
    }
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
