import { test, expect } from "@playwright/test";
import { bubbleWith, channelRow, loggedIn, openChannel, shoot, unique } from "./helpers";

// Mentions in two browser contexts: alice types "@bo" in Product, picks
// Bob from the suggestions with the keyboard and sends; bob, in another
// channel, sees Product's mention count apart from its unread count, and
// the message marked as mentioning him when he opens it.

test("a mention is chosen by keyboard and counted for the one mentioned", async ({ browser }, info) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(bob, "General");
    await openChannel(alice, "Product");
    const box = alice.getByRole("textbox", { name: "Message", exact: true });
    await box.pressSequentially("Thanks @bo", { delay: 20 });
    const list = alice.getByRole("listbox", { name: "Members to mention" });
    await expect(list).toBeVisible();
    await expect(list.getByRole("option")).toHaveText(["BBob"]);
    await expect(list.getByRole("option").first()).toHaveAttribute("aria-selected", "true");
    await shoot(alice, info, "mention-suggestions");
    await box.press("Enter");
    await expect(list).toHaveCount(0);
    await expect(box).toHaveValue("Thanks @Bob ");
    const tail = unique("for the review");
    await box.pressSequentially(tail, { delay: 5 });
    await box.press("Enter");
    await expect(bubbleWith(alice, tail)).toHaveCount(1);

    // Typing on at once after choosing: every letter lands after the name.
    await box.pressSequentially("@bo", { delay: 20 });
    await expect(list).toBeVisible();
    await box.press("Enter");
    await box.pressSequentially("quick words", { delay: 0 });
    await expect(box).toHaveValue("@Bob quick words");
    await box.fill("");

    // Escape closes the suggestions without choosing.
    await box.pressSequentially("@b", { delay: 20 });
    await expect(list).toBeVisible();
    await box.press("Escape");
    await expect(list).toHaveCount(0);
    await box.fill("");

    const product = channelRow(bob, "Product");
    await expect(product.getByTestId("mention-badge")).toHaveText("@1");
    await expect(product.getByTestId("unread-badge")).toHaveText("1");
    await shoot(bob, info, "mention-badge");
    await openChannel(bob, "Product");
    const mine = bubbleWith(bob, tail);
    await expect(mine).toHaveClass(/mentions-me/);
    await expect(product.getByTestId("mention-badge")).toHaveCount(0);
  } finally {
    await close();
  }
});

// The page title and icon carry the unread count, so a tab in the
// background shows it; reading brings them back.
test("the title and icon show the unread count", async ({ browser }) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(bob, "General");
    await openChannel(alice, "Design");
    // Earlier tests may have left bob unread messages elsewhere: count on.
    const count = (title: string) => Number(/^\((\d+)\) Chat$/.exec(title)?.[1] ?? 0);
    const before = count(await bob.title());
    const plainIcon = await bob.locator("link[rel=icon]").getAttribute("href");
    const text = unique("title count");
    const box = alice.getByRole("textbox", { name: "Message", exact: true });
    await box.fill(text);
    await box.press("Enter");
    await expect(bubbleWith(alice, text)).toHaveCount(1);
    await expect.poll(async () => count(await bob.title())).toBe(before + 1);
    await expect(bob.locator("link[rel=icon]")).toHaveAttribute(
      "href",
      new RegExp(`^data:image/svg\\+xml,.*>${before + 1}</text>`),
    );
    await openChannel(bob, "Design");
    await expect.poll(async () => count(await bob.title())).toBe(before);
    if (before === 0) {
      await expect(bob).toHaveTitle("Chat");
      await expect(bob.locator("link[rel=icon]")).toHaveAttribute("href", plainIcon ?? "");
    }
  } finally {
    await close();
  }
});

// Notifications while the page is in the background: bob turns them on
// (the browser's permission is asked then), his page loses focus, alice
// mentions him, and a notification names her and the conversation; with
// "Hide text" it leaves the text out. (The browser's Notification is
// replaced by a recorder: headless Chromium shows none.)
test("a mention notifies a page in the background, with or without its text", async ({ browser }) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await bob.addInitScript(() => {
      const shown: { title: string; body: string }[] = [];
      (window as any).__shown = shown;
      (window as any).__away = false;
      class Recorder {
        static permission = "default";
        static requestPermission() {
          Recorder.permission = "granted";
          return Promise.resolve("granted");
        }
        onclick: unknown = null;
        constructor(title: string, options?: { body?: string }) {
          shown.push({ title, body: options?.body ?? "" });
        }
      }
      (window as any).Notification = Recorder;
      const hasFocus = document.hasFocus.bind(document);
      document.hasFocus = () => !(window as any).__away && hasFocus();
    });
    await bob.reload({ waitUntil: "networkidle" });
    await openChannel(bob, "General");
    const bell = bob.getByRole("button", { name: "Desktop notifications" });
    await expect(bell).toHaveAttribute("aria-pressed", "false");
    await bell.click();
    await expect(bell).toHaveAttribute("aria-pressed", "true");
    await bob.evaluate(() => ((window as any).__away = true));

    await openChannel(alice, "Product");
    const box = alice.getByRole("textbox", { name: "Message", exact: true });
    const shown = () => bob.evaluate(() => (window as any).__shown as { title: string; body: string }[]);
    const mention = async (text: string) => {
      await box.pressSequentially("@bo", { delay: 20 });
      await box.press("Enter");
      await box.pressSequentially(text, { delay: 5 });
      await box.press("Enter");
      await expect(bubbleWith(alice, text)).toHaveCount(1);
    };
    const first = unique("see the draft");
    await mention(first);
    await expect.poll(async () => (await shown()).length).toBe(1);
    expect((await shown())[0]).toEqual({ title: "Alice mentioned you in Product", body: `@Bob ${first}` });

    await bob.evaluate(() => ((window as any).__away = false));
    await bob.getByLabel("Hide text").check();
    await bob.evaluate(() => ((window as any).__away = true));
    await mention(unique("secret plans"));
    await expect.poll(async () => (await shown()).length).toBe(2);
    expect((await shown())[1]).toEqual({ title: "Alice mentioned you in Product", body: "You were mentioned" });
  } finally {
    await close();
  }
});
