import { expect, type Browser, type Locator, type Page, type TestInfo } from "@playwright/test";

export const DEMO_PASSWORD = "password";

/** Log in through the form on /login and wait for the redirect to /chat. */
export async function login(page: Page, email: string, password = DEMO_PASSWORD) {
  // networkidle: the Wasm bundle has loaded and the form is hydrated.
  await page.goto("/login", { waitUntil: "networkidle" });
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await expect(page).toHaveURL(/\/chat(\/|$|\?)/);
}

/** The channel list's row for the channel called `name`. */
export function channelRow(page: Page, name: string): Locator {
  return page
    .locator(".channel-preview")
    .filter({ has: page.locator(".channel-name").getByText(name, { exact: true }) });
}

/** Open a channel by its link in the channel list and wait for the WebSocket. */
export async function openChannel(page: Page, name: string) {
  await channelRow(page, name).getByRole("link").click();
  await expect(page).toHaveURL(/\/chat\/[^/?#]+/);
  await expect(page.locator('.chat-room[data-connection="connected"]')).toBeVisible();
}

export function messageLog(page: Page): Locator {
  return page.getByRole("log", { name: "Messages" });
}

/** The message list items that contain `text`. */
export function messagesWith(page: Page, text: string): Locator {
  return messageLog(page).getByRole("listitem").filter({ hasText: text });
}

/** Type `text` into the message box and send it with Enter. */
export async function sendWithEnter(page: Page, text: string) {
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  await box.fill(text);
  await box.press("Enter");
}

/** Type `text` into the message box and send it with the Send button. */
export async function sendWithButton(page: Page, text: string) {
  await page.getByRole("textbox", { name: "Message", exact: true }).fill(text);
  await page.getByRole("button", { name: "Send", exact: true }).click();
}

/** The texts of all items in the message list, in display order. */
export async function listTexts(page: Page): Promise<string[]> {
  return messageLog(page).getByRole("listitem").allInnerTexts();
}

export function unique(prefix: string): string {
  return `${prefix} ${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** People logged in, each in a browser context of their own (separate
 * cookies, as two people would have). `close` ends every context. */
export async function loggedIn(
  browser: Browser,
  emails: string[],
  baseURL?: string,
): Promise<{ pages: Page[]; close: () => Promise<void> }> {
  const contexts = await Promise.all(emails.map(() => browser.newContext(baseURL ? { baseURL } : {})));
  const close = async () => {
    await Promise.all(contexts.map((c) => c.close()));
  };
  const pages: Page[] = [];
  try {
    for (const [i, email] of emails.entries()) {
      const page = await contexts[i].newPage();
      await login(page, email);
      pages.push(page);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { pages, close };
}

/** Sends `n` messages straight on a WebSocket of the page's session
 * (fast filler for paging tests; the page's own socket sees them live). */
export async function sendMany(page: Page, channelUrl: string, n: number, prefix: string) {
  const channelId = channelUrl.split("/chat/")[1].split(/[?#]/)[0];
  await page.evaluate(
    async ({ channelId, n, prefix }) => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${scheme}://${location.host}/chat/ws/${channelId}`);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      const acked = new Set<string>();
      const send = (i: number) =>
        ws.send(JSON.stringify({ type: "message.send", text: `${prefix} filler ${i}`, clientId: `${prefix}-${i}` }));
      const done = new Promise<void>((resolve) => {
        ws.onmessage = (e) => {
          const f = JSON.parse(e.data);
          const key = String(f.clientId ?? "");
          if (!key.startsWith(prefix)) return;
          if (f.type === "message.new") {
            acked.add(key);
            if (acked.size === n) resolve();
          } else if (f.type === "error" && f.code === "RATE_LIMITED") {
            // Over the send rate: the same message again when allowed.
            const i = Number(key.slice(prefix.length + 1));
            setTimeout(() => send(i), f.retryAfterMs ?? 200);
          }
        };
      });
      for (let i = 0; i < n; i++) send(i);
      await done;
      ws.close();
    },
    { channelId, n, prefix },
  );
}

/** Screenshots of `page` in both colour schemes, saved with the test's
 * results (test-results/.../<name>-light.png and -dark.png), for looking at. */
export async function shoot(page: Page, info: TestInfo, name: string) {
  // Let sliding drawers and fading panels end first (animations that
  // repeat for ever, like a spinner, are not waited for).
  await page.evaluate(async () => {
    const ending = document
      .getAnimations()
      .filter((a) => a.playState === "running" && a.effect?.getComputedTiming().iterations !== Infinity)
      .map((a) => a.finished.catch(() => undefined));
    const atMost = new Promise((done) => setTimeout(done, 2000));
    await Promise.race([Promise.all(ending), atMost]);
  });
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: info.outputPath(`${name}-${scheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

/** The message rows whose own text (not a quote of it) contains `text`. */
export function bubbleWith(page: Page, text: string): Locator {
  return messageLog(page)
    .locator("li.message")
    .filter({ has: page.locator(".bubble", { hasText: text }) });
}

/** A PNG of `width` × `height` drawn by the page (a gradient, so it has
 * some weight), as bytes. */
export async function pngBytes(page: Page, width: number, height: number): Promise<Buffer> {
  const b64 = await page.evaluate(
    ([w, h]) => {
      const canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext("2d")!;
      const g = ctx.createLinearGradient(0, 0, w, h);
      g.addColorStop(0, "#4f46e5");
      g.addColorStop(1, "#f59e0b");
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, w, h);
      for (let i = 0; i < 400; i++) {
        ctx.fillStyle = `hsl(${(i * 37) % 360} 70% 60%)`;
        ctx.fillRect((i * 53) % w, (i * 97) % h, 12, 12);
      }
      return canvas.toDataURL("image/png").split(",")[1];
    },
    [width, height],
  );
  return Buffer.from(b64, "base64");
}

/** Uncaught page errors and console errors (a hydration mismatch logs one). */
export function errorsOf(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console error: ${m.text()}`);
  });
  return errors;
}
