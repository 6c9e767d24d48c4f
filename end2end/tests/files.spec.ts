import { test, expect, type Page } from "@playwright/test";
import { bubbleWith, loggedIn, openChannel, pngBytes, sendWithEnter, shoot, unique } from "./helpers";
import { OwnServer } from "./own-server";

// Files in two browser contexts (PROTOCOL.md "Files and images"): alice
// attaches a picture by the button (progress shown on a slowed upload),
// sends it without text; both see it at its size before it loads, and it
// opens in a lightbox that Escape closes. A file dropped on the
// conversation and a screenshot pasted into the box go out together; bob
// downloads the file by its card. A member whose access is revoked gets
// 403 from a link they saved.

/** Drops files on the conversation, as a file manager's drag would. */
async function dropFiles(page: Page, files: { name: string; type: string; text: string }[]) {
  await page.locator("main.chat-room").evaluate((room, files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([f.text], f.name, { type: f.type }));
    room.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
    room.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
}

test("a picture is attached, shown at its size for both, and opened in a lightbox", async ({ browser }, info) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "Product");
    await openChannel(bob, "Product");
    const png = await pngBytes(alice, 1200, 900);
    // A slowed upload, so its progress shows.
    const cdp = await alice.context().newCDPSession(alice);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: Math.max(32 * 1024, Math.floor(png.length / 3)),
    });
    await alice.getByTestId("file-input").setInputFiles({ name: "sunrise.png", mimeType: "image/png", buffer: png });
    const item = alice.getByTestId("tray-item");
    await expect(item).toHaveCount(1);
    await expect(item.locator("progress")).toBeVisible();
    await expect(alice.getByRole("button", { name: "Send" })).toBeDisabled();
    await shoot(alice, info, "upload-progress");
    await expect(item.locator("progress")).toHaveCount(0, { timeout: 20_000 });
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    await expect(item.locator(".tray-preview")).toBeVisible();
    await expect(alice.getByRole("button", { name: "Send" })).toBeEnabled();
    await alice.getByRole("textbox", { name: "Message", exact: true }).press("Enter");
    await expect(item).toHaveCount(0);

    for (const page of [alice, bob]) {
      // The stored message (the pending copy it replaces shows the
      // picture too).
      const picture = page.locator("li.message:not(.pending) .attachment-picture").last();
      await expect(picture).toBeVisible();
      await expect(picture.locator("img")).toHaveAttribute("width", "320");
      await expect(picture.locator("img")).toHaveAttribute("height", "240");
      // Its box is the picture's shape as soon as it is there (before the
      // thumbnail arrives, when it is that quick), and the same after.
      // (The row may be drawn again while it settles, e.g. when "seen
      // by" arrives: the box is read when it is there.)
      const seen: { box: { width: number; height: number } | null } = { box: null };
      await expect
        .poll(async () => {
          seen.box = await picture.boundingBox();
          return seen.box;
        })
        .not.toBeNull();
      const before = seen.box!;
      await expect(picture.locator("img")).toHaveJSProperty("complete", true);
      await expect
        .poll(() => picture.locator("img").evaluate((i: HTMLImageElement) => i.naturalWidth))
        .toBeGreaterThan(0);
      // (The list may scroll, and the row be drawn again, meanwhile: the
      // size is what must not move.)
      await expect
        .poll(async () => {
          const after = await picture.boundingBox();
          return after && { w: after.width, h: after.height };
        })
        .toEqual({ w: before.width, h: before.height });
      expect(Math.round((before.width / before.height) * 100)).toBe(133);
    }
    await shoot(bob, info, "picture-in-list");

    const picture = bob.locator("li.message:not(.pending) .attachment-picture").last();
    await picture.click();
    const box = bob.getByRole("dialog", { name: "sunrise.png" });
    await expect(box).toBeVisible();
    await expect(box.locator("img")).toHaveAttribute("src", /^\/chat\/files\/[0-9a-f-]+$/);
    await expect(bob.getByRole("button", { name: "Close the picture" })).toBeFocused();
    await shoot(bob, info, "lightbox");
    await bob.keyboard.press("Escape");
    await expect(box).toHaveCount(0);
  } finally {
    await close();
  }
});

test("a dropped file and a pasted screenshot go out together; the file downloads from its card", async ({ browser }, info) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "Design");
    await openChannel(bob, "Design");
    const notes = unique("the notes");
    await dropFiles(alice, [{ name: "notes.txt", type: "text/plain", text: `${notes}\nline two\n` }]);
    await expect(alice.getByTestId("tray-item")).toHaveCount(1);
    const png = await pngBytes(alice, 320, 200);
    await alice.getByRole("textbox", { name: "Message", exact: true }).evaluate((box, b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], "image.png", { type: "image/png" }));
      box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
    }, png.toString("base64"));
    await expect(alice.getByTestId("tray-item")).toHaveCount(2);
    await expect(alice.getByTestId("tray-item").locator("progress")).toHaveCount(0);
    await shoot(alice, info, "tray-two-files");
    const text = unique("files for review");
    const composer = alice.getByRole("textbox", { name: "Message", exact: true });
    await composer.fill(text);
    await composer.press("Enter");

    const mine = bubbleWith(bob, text);
    await expect(mine).toHaveCount(1);
    await expect(mine.locator(".attachment-picture")).toHaveCount(1);
    const card = mine.getByTestId("file-card");
    await expect(card).toContainText("notes.txt");
    await expect(card.locator(".file-size")).toHaveText(/^\d+ B$/);
    await shoot(bob, info, "file-card");
    const [download] = await Promise.all([bob.waitForEvent("download"), card.click()]);
    expect(download.suggestedFilename()).toBe("notes.txt");
    const path = await download.path();
    const fs = await import("node:fs");
    expect(fs.readFileSync(path!, "utf8")).toContain(notes);

    // Narrow: the pictures and cards fit.
    await bob.setViewportSize({ width: 390, height: 780 });
    await expect(mine.getByTestId("file-card")).toBeVisible();
    await shoot(bob, info, "files-narrow");
  } finally {
    await close();
  }
});

test("a file too large is refused in the tray; a running upload can be cancelled", async ({ browser }) => {
  const server = await OwnServer.start({ CHAT_UPLOAD_MAX_BYTES: "200000" });
  const { pages: [page], close } = await loggedIn(browser, ["alice@example.com"], server.baseURL);
  try {
    await openChannel(page, "Product");
    const big = await pngBytes(page, 900, 900);
    expect(big.length).toBeGreaterThan(200000);
    // Refused before it is sent (the limit is known to the page).
    await page.getByTestId("file-input").setInputFiles({ name: "big.png", mimeType: "image/png", buffer: big });
    await expect(page.getByTestId("tray-item")).toContainText("larger than 200 kB");
    await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();
    await page.getByRole("button", { name: "Remove big.png" }).click();
    await expect(page.getByTestId("tray-item")).toHaveCount(0);

    // A slow upload, cancelled: it leaves the tray.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 8 * 1024,
    });
    const small = await pngBytes(page, 300, 300);
    await page.getByTestId("file-input").setInputFiles({ name: "slow.png", mimeType: "image/png", buffer: small });
    await expect(page.getByTestId("tray-item").locator("progress")).toBeVisible();
    await page.getByRole("button", { name: "Cancel slow.png" }).click();
    await expect(page.getByTestId("tray-item")).toHaveCount(0);
  } finally {
    await close();
    await server.dispose();
  }
});

test("a member whose access is revoked gets 403 from a saved link", async ({ browser }) => {
  const adminKey = "e2e-admin-key-0123456789abcdef0123456789";
  const server = await OwnServer.start({ CHAT_ADMIN_KEY: adminKey });
  const { pages: [alice, bob], close } = await loggedIn(
    browser,
    ["alice@example.com", "bob@example.com"],
    server.baseURL,
  );
  try {
    await openChannel(alice, "Product");
    await dropFiles(alice, [{ name: "plan.txt", type: "text/plain", text: "the plan" }]);
    await expect(alice.getByTestId("tray-item").locator("progress")).toHaveCount(0);
    await expect(alice.getByRole("button", { name: "Send" })).toBeEnabled();
    await alice.getByRole("textbox", { name: "Message", exact: true }).press("Enter");
    const card = alice.getByTestId("file-card").last();
    await expect(card).toBeVisible();
    const link = (await card.getAttribute("href"))!;
    expect((await alice.request.get(link)).status()).toBe(200);

    // Bob saved the link while he was a member.
    expect((await bob.request.get(link)).status()).toBe(200);
    const channels = await (await bob.request.get("/chat/channels")).json();
    const product = channels.channels.find((c: { name: string }) => c.name === "Product").id;
    const revoke = await bob.request.delete(`/admin/tablos/${product}/members/${await userId(bob)}`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(revoke.status()).toBeLessThan(300);
    const after = await bob.request.get(link);
    expect(after.status()).toBe(403);
    expect(after.headers()["x-content-type-options"]).toBe("nosniff");
  } finally {
    await close();
    await server.dispose();
  }
});

test("files go with a thread reply, by the panel's button and by a drop on the panel", async ({ browser }, info) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "Design");
    await openChannel(bob, "Design");
    const question = unique("Which logo?");
    await sendWithEnter(alice, question);
    const parent = bubbleWith(bob, question);
    await parent.hover();
    await parent.getByRole("button", { name: "Reply in thread" }).click();
    const panel = bob.getByTestId("thread-panel");
    await expect(panel).toBeVisible();

    const png = await pngBytes(bob, 800, 600);
    await panel.getByTestId("thread-file-input").setInputFiles({ name: "logo-a.png", mimeType: "image/png", buffer: png });
    // Dropped on the panel: to the thread's reply, not the channel's box.
    await panel.evaluate((el) => {
      const dt = new DataTransfer();
      dt.items.add(new File(["the brief"], "brief.txt", { type: "text/plain" }));
      el.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
      el.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await expect(panel.getByTestId("tray-item")).toHaveCount(2);
    await expect(bob.locator(".room-column").getByTestId("tray-item")).toHaveCount(0);
    await expect(panel.getByTestId("tray-item").locator("progress")).toHaveCount(0);
    const send = panel.getByRole("button", { name: "Send" });
    await expect(send).toBeEnabled();
    await send.click();
    await expect(panel.getByTestId("tray-item")).toHaveCount(0);

    const replies = panel.getByRole("log", { name: "Replies" });
    await expect(replies.locator("li.message:not(.pending) .attachment-picture img")).toHaveAttribute("width", "320");
    await expect(replies.locator("li.message:not(.pending)").getByTestId("file-card")).toContainText("brief.txt");
    // Alice opens the thread from the count and sees both.
    const summary = bubbleWith(alice, question).getByTestId("thread-summary");
    await expect(summary).toContainText("1 reply");
    await summary.click();
    const alicePanel = alice.getByTestId("thread-panel");
    await expect(alicePanel.getByTestId("file-card")).toContainText("brief.txt");
    await expect(alicePanel.locator(".attachment-picture img")).toHaveAttribute("height", "240");
    await shoot(bob, info, "thread-files");
  } finally {
    await close();
  }
});

/** The logged-in user's id, from the token the login cookie holds. */
async function userId(page: Page): Promise<string> {
  const cookies = await page.context().cookies();
  const token = cookies.find((c) => c.value.split(".").length === 3)!.value;
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
  return claims.sub;
}
