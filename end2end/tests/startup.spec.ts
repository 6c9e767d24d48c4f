import { test, expect, type Page, type Response } from "@playwright/test";
import { login, openChannel } from "./helpers";

// The page starts: every file it asks for under /pkg/ arrives (200, its
// media type), the Wasm instantiates and hydrates, and nothing throws. Run
// against the release binary (CHAT_E2E_RELEASE=1) this is what users get;
// a page asking for a Wasm file that did not exist, and a Wasm corrupted by
// an old wasm-opt (a TypeError at start-up), both passed unnoticed before.

/** Records /pkg/ responses, uncaught page errors and console errors. */
function watch(page: Page) {
  const pkg: Response[] = [];
  const errors: string[] = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname.startsWith("/pkg/")) pkg.push(r);
    if (r.status() >= 400) errors.push(`${r.status()} for ${r.url()}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console error: ${m.text()}`);
  });
  return { pkg, errors };
}

const expectedType: Record<string, string> = {
  wasm: "application/wasm",
  js: "text/javascript",
  css: "text/css",
};

test("the pages load their code and hydrate without errors", async ({ page }) => {
  const { pkg, errors } = watch(page);
  try {
    await login(page, "alice@example.com");
    await openChannel(page, "General");
    // Interactive: the composer takes text and the send button enables.
    const box = page.getByRole("textbox", { name: "Message", exact: true });
    await box.fill("started");
    await expect(page.getByRole("button", { name: "Send", exact: true })).toBeEnabled();
  } catch (e) {
    // Say why the page did not start, not only what did not appear.
    (e as Error).message += `\n\nWhat the page reported: ${JSON.stringify(errors, null, 2)}`;
    throw e;
  }

  const kinds = new Set<string>();
  for (const r of pkg) {
    const ext = new URL(r.url()).pathname.split(".").pop()!;
    kinds.add(ext);
    expect(r.status(), r.url()).toBe(200);
    if (expectedType[ext]) {
      expect(r.headers()["content-type"], r.url()).toContain(expectedType[ext]);
    }
  }
  expect([...kinds].sort()).toEqual(["css", "js", "wasm"]);
  expect(errors).toEqual([]);
});
