import { test, expect, type Page } from "@playwright/test";
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
