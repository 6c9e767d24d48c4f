import { test, expect, type Locator, type Page } from "@playwright/test";
import { bubbleWith, loggedIn, openChannel, sendMany, sendWithEnter, shoot, unique } from "./helpers";

// Message search from the sidebar, in two browser contexts: bob writes in
// Design (then enough after it that it is not on the first page), alice
// searches from another channel, sees the snippet with the words marked,
// and a click opens Design at the message (the page around it loaded,
// the message highlighted). Light and dark, wide and narrow screenshots
// are saved (test-results/.../*.png).

async function search(page: Page, words: string) {
  const box = page.getByRole("searchbox", { name: "Search messages" });
  await box.fill(words);
  await box.press("Enter");
}

/**
 * Checks that `item` lies wholly inside the message list's visible box
 * once the list has settled (no older page on its way, two frames drawn).
 */
async function expectFullyInList(page: Page, item: Locator) {
  const list = page.locator(".message-scroll");
  await expect(list).toHaveAttribute("aria-busy", "false");
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const [outer, inner] = [await list.boundingBox(), await item.boundingBox()];
  expect(outer && inner, "the list and the message are drawn").toBeTruthy();
  const where = `message ${Math.round(inner!.y)}..${Math.round(inner!.y + inner!.height)}, list ${Math.round(outer!.y)}..${Math.round(outer!.y + outer!.height)}`;
  expect(inner!.y >= outer!.y - 0.5 && inner!.y + inner!.height <= outer!.y + outer!.height + 0.5, where).toBe(true);
}

test("search finds a message by its words and jumps to it", async ({ browser }, info) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(bob, "Design");
    const word = `kumquat${Date.now().toString(36)}`;
    const needle = `The ${word} launch plan is **ready** for review`;
    await sendWithEnter(bob, needle);
    await expect(bubbleWith(bob, `${word} launch plan`)).toHaveCount(1);
    await sendMany(bob, bob.url(), 70, unique("later"));

    await openChannel(alice, "General");
    const results = alice.getByTestId("search-results");
    const hit = results.getByRole("link").filter({ hasText: "launch" });
    // A message is found once its send is acknowledged (a search first
    // lets the index catch up); the bubble may show before that, so search
    // again until it is found, as a person would.
    await expect
      .poll(async () => {
        await search(alice, `${word.toUpperCase()} plan`);
        await expect(results.getByText(/Searching/)).toHaveCount(0);
        return hit.count();
      })
      .toBe(1);
    await expect(hit).toContainText("Design");
    await expect(hit).toContainText("Bob");
    await expect(hit.locator("mark")).toHaveText([word, "plan"]);
    await shoot(alice, info, "search-results");

    await hit.click();
    await expect(alice).toHaveURL(/\/chat\/[^/?#]+\?at=\d+/);
    const target = bubbleWith(alice, `${word} launch plan`);
    await expect(target).toBeVisible();
    await expect(target).toHaveClass(/highlighted/);
    await expect(alice.getByRole("button", { name: /Jump to the latest messages/ })).toBeVisible();
    // The whole message is in view (its author line too), not cut at the
    // top of the list, once the list has settled.
    await expectFullyInList(alice, target);
    await shoot(alice, info, "search-jumped");

    // Words nobody wrote: a clear "nothing found"; Escape goes back to
    // the conversations.
    await search(alice, `${word} zzqnothing`);
    await expect(alice.getByTestId("search-results")).toContainText("No messages found.");
    await alice.getByRole("searchbox", { name: "Search messages" }).press("Escape");
    await expect(alice.getByTestId("search-results")).toHaveCount(0);
    await expect(alice.getByRole("heading", { name: "Conversations" })).toBeVisible();
  } finally {
    await close();
  }
});

test("search works in the drawer on a narrow window", async ({ browser }, info) => {
  const { pages: [alice], close } = await loggedIn(browser, ["alice@example.com"]);
  try {
    await alice.setViewportSize({ width: 390, height: 760 });
    await openChannel(alice, "General");
    const word = `persimmon${Date.now().toString(36)}`;
    await sendWithEnter(alice, `a note about ${word} for later`);
    await expect(bubbleWith(alice, word)).toHaveCount(1);
    await alice.getByRole("button", { name: "Conversations" }).first().click();
    const results = alice.getByTestId("search-results");
    const hit = results.getByRole("link").filter({ hasText: word });
    await expect
      .poll(async () => {
        await search(alice, word);
        await expect(results.getByText(/Searching/)).toHaveCount(0);
        return hit.count();
      })
      .toBe(1);
    await expect(hit).toContainText("You");
    await shoot(alice, info, "search-narrow");
    await hit.click();
    await expect(bubbleWith(alice, word)).toHaveClass(/highlighted/);
    await expect(alice.locator(".discussions")).not.toHaveClass(/drawer-open/);
  } finally {
    await close();
  }
});
