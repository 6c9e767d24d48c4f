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

// A short conversation between bob and alice (once, if General is empty),
// so the screenshots show incoming and outgoing messages.
const conversation = [
  ["bob@example.com", "Morning all! The release notes are up: https://example.com/notes"],
  ["bob@example.com", "Two lines:\nfirst line, then the second."],
  ["alice@example.com", "Thanks Bob, reading them now."],
  ["alice@example.com", "Markup stays text: <b>bold?</b> <img src=x onerror=alert(1)>"],
  ["bob@example.com", "Great, ping me with questions."],
];

async function loginAs(page, email) {
  await page.goto("/login", { waitUntil: "networkidle" });
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("password");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await page.waitForURL(/\/chat(\/|$|\?)/, { timeout: 15_000 });
}

function generalLink(page) {
  return page
    .locator(".channel-preview")
    .filter({ has: page.locator(".channel-name").getByText("General", { exact: true }) })
    .getByRole("link");
}

async function openGeneral(page) {
  const link = generalLink(page);
  await link.first().waitFor({ state: "attached", timeout: 15_000 });
  if (await link.first().isVisible()) {
    await link.first().click();
  } else {
    await page.goto(await link.first().getAttribute("href"));
  }
  await page.waitForURL(/\/chat\/[^/?#]+/, { timeout: 15_000 });
  await page.locator('.chat-room[data-connection="connected"]').waitFor({ timeout: 15_000 });
}

async function seed() {
  const pages = {};
  for (const email of ["alice@example.com", "bob@example.com"]) {
    const context = await browser.newContext({ baseURL });
    const page = await context.newPage();
    await loginAs(page, email);
    await openGeneral(page);
    pages[email] = page;
  }
  const log = pages["bob@example.com"].getByRole("log", { name: "Messages" });
  if ((await log.getByRole("listitem").count()) === 0) {
    for (const [email, text] of conversation) {
      const box = pages[email].getByRole("textbox", { name: "Message", exact: true });
      await box.fill(text);
      await box.press("Enter");
      await log.getByText(text.split("\n")[0]).first().waitFor({ timeout: 5_000 });
    }
  }
  for (const page of Object.values(pages)) await page.context().close();
}

let failed = false;
try {
  await seed();
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

        await loginAs(page, "alice@example.com");
        const list = path.join(outDir, `list-${tag}.png`);
        await page.screenshot({ path: list, fullPage: false });
        console.log(list);
        await openGeneral(page);
        await page.waitForTimeout(300); // let fonts and layout settle
        const chat = path.join(outDir, `chat-general-${tag}.png`);
        await page.screenshot({ path: chat, fullPage: false });
        console.log(chat);
        if (size.name === "phone") {
          await page.getByRole("button", { name: "Conversations" }).click();
          await page.waitForTimeout(400);
          const drawer = path.join(outDir, `drawer-${tag}.png`);
          await page.screenshot({ path: drawer, fullPage: false });
          console.log(drawer);
        }
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
