import { test, expect, type Page } from "@playwright/test";
import {
  bubbleWith,
  channelRow,
  loggedIn,
  messageLog,
  messagesWith,
  openChannel,
  sendMany,
  sendWithEnter,
  shoot,
  unique,
} from "./helpers";

// Messages that change, in two browser contexts (alice and bob): edit,
// delete, react and un-react, reply with a quote and jump to an original
// that is not loaded, pin and the pins panel, "seen by", the keyboard
// paths (menu button, Up-arrow edit, Escape) and a narrow touch screen.
// Each state is also saved as a screenshot in light and dark
// (test-results/.../*.png), for looking at.

/** Sends `text` from the composer and, like a user would, presses Retry
 * while the server says "too fast" (the filler messages use up the send
 * rate), until it is stored. */
async function sendConfirmed(page: Page, text: string) {
  await sendWithEnter(page, text);
  const stored = messageLog(page).locator("li.message:not(.pending)").filter({ hasText: text });
  const retry = messageLog(page).locator("li.message.failed").filter({ hasText: text }).getByRole("button", { name: "Retry" });
  await expect
    .poll(
      async () => {
        if ((await stored.count()) > 0) return true;
        if ((await retry.count()) > 0) await retry.click();
        return false;
      },
      { timeout: 30_000, intervals: [250, 500, 1000] },
    )
    .toBe(true);
}

/** Opens a message's "More actions" menu with the mouse. */
async function openMenu(page: Page, text: string) {
  const row = messagesWith(page, text);
  await row.hover();
  await row.getByRole("button", { name: "More actions" }).click();
  await expect(page.getByRole("menu", { name: "Message actions" })).toBeVisible();
}

test("edit, delete, react and un-react reach the other side", async ({ browser }, info) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "Random");
    await openChannel(bob, "Random");
    // The message before it: what the channel list previews once it is deleted.
    const earlier = unique("earlier");
    await sendWithEnter(alice, earlier);
    await expect(messagesWith(bob, earlier)).toHaveCount(1);
    const original = unique("typo hre");
    await sendWithEnter(alice, original);
    await expect(messagesWith(bob, original)).toHaveCount(1);

    // Edit through the menu: the composer takes the text; Enter saves.
    await openMenu(alice, original);
    await alice.getByRole("menuitem", { name: "Edit" }).click();
    const box = alice.getByRole("textbox", { name: "Message", exact: true });
    await expect(box).toHaveValue(original);
    await expect(alice.getByTestId("composer-context")).toContainText("Editing message");
    await shoot(alice, info, "editing");
    const fixed = original.replace("hre", "here");
    await box.fill(fixed);
    await box.press("Enter");
    await expect(messagesWith(bob, fixed)).toContainText("(edited)");
    await expect(messagesWith(alice, fixed)).toContainText("(edited)");
    await expect(box).toHaveValue("");
    // The channel list previews the edited text, on both sides.
    await expect(channelRow(bob, "Random")).toContainText(fixed);
    await expect(channelRow(alice, "Random")).toContainText(fixed);

    // React from bob through the picker's search; alice sees the chip.
    const row = messagesWith(bob, fixed);
    await row.hover();
    await row.getByRole("button", { name: "Add a reaction" }).first().click();
    const picker = bob.getByRole("dialog", { name: "Add a reaction" });
    await expect(picker).toBeVisible();
    await shoot(bob, info, "emoji-picker");
    await picker.getByRole("searchbox", { name: "Search emoji" }).fill("tada");
    await picker.getByRole("button", { name: "tada", exact: true }).last().click();
    await expect(picker).toHaveCount(0);
    const bobChip = messagesWith(bob, fixed).getByRole("button", { name: /^🎉 1/ });
    await expect(bobChip).toHaveAttribute("aria-pressed", "true");
    const aliceChip = messagesWith(alice, fixed).getByRole("button", { name: /^🎉 1/ });
    await expect(aliceChip).toHaveAttribute("aria-pressed", "false");
    await expect(aliceChip).toHaveAttribute("title", "Bob");
    // Alice joins with the chip; then bob takes his back.
    await aliceChip.click();
    await expect(messagesWith(bob, fixed).getByRole("button", { name: /^🎉 2/ })).toBeVisible();
    await shoot(bob, info, "reactions");
    await messagesWith(bob, fixed).getByRole("button", { name: /^🎉 2/ }).click();
    await expect(messagesWith(alice, fixed).getByRole("button", { name: /^🎉 1/ })).toHaveAttribute("title", "You");

    // Delete with confirmation: a tombstone on both sides, in place.
    await openMenu(alice, fixed);
    await alice.getByRole("menuitem", { name: "Delete" }).click();
    const confirm = alice.getByRole("alertdialog", { name: "Delete this message?" });
    await expect(confirm).toBeVisible();
    await shoot(alice, info, "delete-confirm");
    await confirm.getByRole("button", { name: "Delete", exact: true }).click();
    await expect(messagesWith(bob, fixed)).toHaveCount(0);
    await expect(messageLog(bob).locator("li.message.deleted").last()).toContainText("Message deleted");
    await expect(messageLog(alice).locator("li.message.deleted").last()).toContainText("Message deleted");
    // The list previews the message before it again.
    await expect(channelRow(bob, "Random")).toContainText(earlier);
    await expect(channelRow(bob, "Random")).not.toContainText(fixed);
    await shoot(bob, info, "tombstone");
  } finally {
    await close();
  }
});

test("a reply quotes its original and jumps to it when it is not loaded", async ({ browser }, info) => {
  // 90 filler messages at the server's send rate (5 a second after a
  // burst of 20).
  test.setTimeout(120_000);
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(bob, "Design");
    // Some history before the original, and enough after it that a fresh
    // page does not load it.
    const before = unique("before");
    await sendMany(bob, bob.url(), 30, before);
    const original = unique("the original idea");
    await sendConfirmed(bob, original);
    const filler = unique("fill");
    await sendMany(bob, bob.url(), 60, filler);
    // Bob replies to it (still on his page, received live).
    const row = bubbleWith(bob, original);
    await row.scrollIntoViewIfNeeded();
    await row.hover();
    await row.getByRole("button", { name: "Reply", exact: true }).click();
    await expect(bob.getByTestId("composer-context")).toContainText("Replying to yourself");
    await shoot(bob, info, "replying");
    const reply = unique("about that");
    await sendConfirmed(bob, reply);
    await expect(messagesWith(bob, reply).getByRole("button", { name: /Reply to You/ })).toContainText(original);

    // Alice has read Design (so it opens at the newest, not at an unread
    // divider far up) and opens it fresh: the reply is there, its
    // original is not.
    const channelId = bob.url().split("/chat/")[1].split(/[?#]/)[0];
    const read = await alice.request.post(`/chat/channels/${channelId}/read`);
    expect(read.status()).toBe(200);
    await openChannel(alice, "Design");
    const quoted = messagesWith(alice, reply).getByRole("button", { name: /Reply to Bob/ });
    await expect(quoted).toContainText(original);
    await expect(bubbleWith(alice, original)).toHaveCount(0);
    await quoted.click();
    // The page around it loads; the original is shown, highlighted.
    const target = bubbleWith(alice, original);
    await expect(target).toBeVisible();
    await expect(target).toHaveClass(/highlighted/);
    await expect(alice.getByRole("button", { name: /Jump to the latest messages/ })).toBeVisible();
    await shoot(alice, info, "jumped-to-original");
    // The window pages both ways: older at the top...
    const scroller = alice.locator(".message-scroll");
    await expect(bubbleWith(alice, `${before} filler 0`)).toHaveCount(0);
    await scroller.evaluate((el) => (el.scrollTop = 0));
    await expect(bubbleWith(alice, `${before} filler 0`)).toHaveCount(1);
    await expect(alice.getByText("This is the beginning of the conversation.")).toBeVisible();
    // Back to the latest.
    await alice.getByRole("button", { name: /Jump to the latest messages/ }).click();
    await expect(messagesWith(alice, reply)).toHaveCount(1);
    await expect(alice.getByRole("button", { name: /Jump to the latest messages/ })).toHaveCount(0);
    // The list is live again: a new message arrives.
    const after = unique("live again");
    await sendWithEnter(bob, after);
    await expect(messagesWith(alice, after)).toHaveCount(1);
  } finally {
    await close();
  }
});

test("pins show who pinned them and the panel jumps to them", async ({ browser }, info) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "Product");
    await openChannel(bob, "Product");
    const text = unique("decision: ship friday");
    await sendWithEnter(alice, text);
    await openMenu(bob, text);
    await bob.getByRole("menuitem", { name: "Pin" }).click();
    await expect(messagesWith(alice, text)).toContainText("Pinned by Bob");
    await alice.getByRole("button", { name: "Pinned messages" }).click();
    const panel = alice.getByTestId("pins-panel");
    await expect(panel).toContainText(text);
    await expect(panel).toContainText("Pinned by Bob");
    await shoot(alice, info, "pins-panel");
    await panel.getByRole("button", { name: new RegExp(text) }).click();
    await expect(messagesWith(alice, text)).toHaveClass(/highlighted/);
    // Unpin from the menu: the note goes on both sides.
    await openMenu(alice, text);
    await alice.getByRole("menuitem", { name: "Unpin" }).click();
    await expect(messagesWith(bob, text)).not.toContainText("Pinned by");
  } finally {
    await close();
  }
});

test("seen-by avatars appear when the other side reads", async ({ browser }, info) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "General");
    const text = unique("did you see this");
    await sendWithEnter(alice, text);
    const seen = messagesWith(alice, text).getByTestId("seen-by");
    await expect(seen).toHaveCount(0);
    // Bob opens the channel: it reads, and alice's latest shows him.
    await openChannel(bob, "General");
    await expect(seen).toHaveAttribute("aria-label", /Seen by Bob/);
    await shoot(alice, info, "seen-by");
  } finally {
    await close();
  }
});

test("the keyboard reaches every action: menu button, Up-arrow edit, Escape", async ({ browser }) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "General");
    await openChannel(bob, "General");
    const text = unique("keyboard me");
    await sendWithEnter(alice, text);
    const box = alice.getByRole("textbox", { name: "Message", exact: true });

    // Up-arrow in the empty composer edits my last message; Escape cancels.
    await box.focus();
    await box.press("ArrowUp");
    await expect(box).toHaveValue(text);
    await box.press("Escape");
    await expect(box).toHaveValue("");
    await expect(alice.getByTestId("composer-context")).toHaveCount(0);
    // Up-arrow again, change it, Enter saves.
    await box.press("ArrowUp");
    await box.fill(`${text} (fixed)`);
    await box.press("Enter");
    await expect(messagesWith(bob, `${text} (fixed)`)).toContainText("(edited)");

    // The menu button by keyboard: focus it, Enter opens the menu with the
    // first item focused, arrows move, Enter acts, Escape closes.
    const more = messagesWith(alice, `${text} (fixed)`).getByRole("button", { name: "More actions" });
    await more.focus();
    await alice.keyboard.press("Enter");
    const menu = alice.getByRole("menu", { name: "Message actions" });
    await expect(menu).toBeVisible();
    await expect(menu.getByRole("menuitem").first()).toBeFocused();
    await alice.keyboard.press("Escape");
    await expect(menu).toHaveCount(0);
    await expect(more).toBeFocused();
    await alice.keyboard.press("Enter");
    await alice.keyboard.press("ArrowDown"); // Reply
    await expect(menu.getByRole("menuitem", { name: "Reply" })).toBeFocused();
    await alice.keyboard.press("Enter");
    await expect(alice.getByTestId("composer-context")).toContainText("Replying to yourself");
    await expect(box).toBeFocused();
    await box.press("Escape");
    await expect(alice.getByTestId("composer-context")).toHaveCount(0);
    // Emoji picker by keyboard: Escape closes it.
    await more.focus();
    await alice.keyboard.press("Enter");
    await expect(menu.getByRole("menuitem").first()).toBeFocused();
    await alice.keyboard.press("Enter"); // Add reaction…
    const picker = alice.getByRole("dialog", { name: "Add a reaction" });
    await expect(picker.getByRole("searchbox")).toBeFocused();
    await alice.keyboard.press("Escape");
    await expect(picker).toHaveCount(0);
  } finally {
    await close();
  }
});

test("on a narrow touch screen a long press opens the actions", async ({ browser }, info) => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    hasTouch: true,
    isMobile: true,
  });
  try {
    const page = await context.newPage();
    await page.goto("/login", { waitUntil: "networkidle" });
    await page.getByLabel("Email").fill("bob@example.com");
    await page.getByLabel("Password").fill("password");
    await page.getByRole("button", { name: "Log in", exact: true }).click();
    await expect(page).toHaveURL(/\/chat(\/|$|\?)/);
    await openChannel(page, "Random");
    const text = unique("press and hold");
    await sendWithEnter(page, text);
    const row = messagesWith(page, text);
    await expect(row).toHaveCount(1);
    const box = await row.locator(".bubble").boundingBox();
    expect(box).not.toBeNull();
    await row.locator(".bubble").dispatchEvent("pointerdown", { pointerType: "touch", isPrimary: true });
    await page.waitForTimeout(700);
    await row.locator(".bubble").dispatchEvent("pointerup", { pointerType: "touch", isPrimary: true });
    const menu = page.getByRole("menu", { name: "Message actions" });
    await expect(menu).toBeVisible();
    await shoot(page, info, "narrow-menu");
    await menu.getByRole("menuitem", { name: "Add reaction…" }).tap();
    const picker = page.getByRole("dialog", { name: "Add a reaction" });
    await expect(picker).toBeVisible();
    await picker.getByRole("button", { name: "thumbsup" }).first().tap();
    await expect(row.getByRole("button", { name: /^👍 1/ })).toHaveAttribute("aria-pressed", "true");
    await shoot(page, info, "narrow-reacted");
  } finally {
    await context.close();
  }
});
