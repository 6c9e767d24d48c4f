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
    await expect(bob).toHaveTitle("Chat");
    const plainIcon = await bob.locator("link[rel=icon]").getAttribute("href");
    const text = unique("title count");
    const box = alice.getByRole("textbox", { name: "Message", exact: true });
    await box.fill(text);
    await box.press("Enter");
    await expect(bubbleWith(alice, text)).toHaveCount(1);
    await expect(bob).toHaveTitle("(1) Chat");
    await expect(bob.locator("link[rel=icon]")).toHaveAttribute("href", /^data:image\/svg\+xml,.*>1<\/text>/);
    await openChannel(bob, "Design");
    await expect(bob).toHaveTitle("Chat");
    await expect(bob.locator("link[rel=icon]")).toHaveAttribute("href", plainIcon ?? "");
  } finally {
    await close();
  }
});
