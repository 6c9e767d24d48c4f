import { test, expect, type Page } from "@playwright/test";
import { bubbleWith, loggedIn, openChannel, sendWithEnter, shoot, unique } from "./helpers";

// Threads in two browser contexts: alice writes in Random, bob opens its
// thread and replies; alice sees the reply count and her unread replies
// under the message, live, and in the threads view; she opens the thread,
// sees bob's reply and bob typing, replies "also to the channel", and bob
// sees it live in his open panel. Thread-only replies stay out of the
// channel's list. Light and dark, wide and narrow screenshots are saved.

function panel(page: Page) {
  return page.getByTestId("thread-panel");
}

function panelReplies(page: Page) {
  return panel(page).getByRole("log", { name: "Replies" });
}

async function replyInThread(page: Page, text: string) {
  const box = panel(page).getByRole("textbox", { name: "Reply in the thread" });
  await box.fill(text);
  await box.press("Enter");
}

test("a thread opens beside the messages and stays live on both sides", async ({ browser }, info) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "Random");
    await openChannel(bob, "Random");
    const question = unique("Who reviews the release notes?");
    await sendWithEnter(alice, question);
    const parentOnBob = bubbleWith(bob, question);
    await expect(parentOnBob).toHaveCount(1);

    // Bob: "Reply in thread" from the message's actions.
    await parentOnBob.hover();
    await parentOnBob.getByRole("button", { name: "Reply in thread" }).click();
    await expect(panel(bob)).toBeVisible();
    await expect(panel(bob).getByRole("list", { name: "Thread parent" })).toContainText(question);
    await expect(panel(bob)).toContainText("No replies yet");
    const first = unique("I can take them");
    await replyInThread(bob, first);
    await expect(panelReplies(bob).locator("li.message")).toContainText([first]);
    await expect(panel(bob)).toContainText("1 reply");

    // Alice: the count under her message and one unread reply, live; the
    // reply itself is not in the channel's list.
    const summary = bubbleWith(alice, question).getByTestId("thread-summary");
    await expect(summary).toContainText("1 reply");
    await expect(summary.getByTestId("thread-unread")).toHaveText("1 new");
    await expect(bubbleWith(alice, first)).toHaveCount(0);
    await expect(alice.getByTestId("threads-badge")).toHaveText("1");
    await shoot(alice, info, "thread-summary");

    // The threads view lists it with the unread count.
    await alice.getByRole("button", { name: /^Threads/ }).click();
    const listed = alice.getByTestId("threads-list").getByRole("link").filter({ hasText: question.slice(0, 30) });
    await expect(listed).toContainText("Random");
    await expect(listed).toContainText("1 reply");
    await shoot(alice, info, "threads-view");

    // Opening it from the view reads it: the badges go.
    await listed.click();
    await expect(alice).toHaveURL(/\?thread=/);
    await expect(panel(alice)).toBeVisible();
    await expect(panelReplies(alice)).toContainText(first);
    await expect(alice.getByTestId("threads-badge")).toHaveCount(0);
    await expect(summary.getByTestId("thread-unread")).toHaveCount(0);

    // Bob types in the thread: alice's panel says so (the channel does not).
    await panel(bob).getByRole("textbox", { name: "Reply in the thread" }).pressSequentially("and", { delay: 30 });
    await expect(panel(alice).getByTestId("thread-typing")).toContainText("Bob is typing");
    await expect(alice.getByTestId("typing-indicator")).not.toContainText("Bob");
    await panel(bob).getByRole("textbox", { name: "Reply in the thread" }).fill("");

    // Alice replies, also to the channel: bob's panel and both lists show it.
    const second = unique("Thanks, also posting here");
    await panel(alice).getByLabel("Also send to the channel").check();
    await replyInThread(alice, second);
    await expect(panelReplies(bob)).toContainText(second);
    await expect(panel(bob)).toContainText("2 replies");
    await expect(bubbleWith(bob, second)).toHaveCount(1);
    await expect(bubbleWith(bob, second).getByRole("button", { name: "Replied in a thread" })).toBeVisible();
    await expect(bubbleWith(alice, question).getByTestId("thread-summary")).toContainText("2 replies");
    await shoot(bob, info, "thread-panel");

    // Narrow: the panel covers the conversation; closing it goes back.
    await bob.setViewportSize({ width: 390, height: 760 });
    await expect(panel(bob)).toBeVisible();
    await shoot(bob, info, "thread-panel-narrow");
    await panel(bob).getByRole("button", { name: "Close the thread" }).click();
    await expect(panel(bob)).toHaveCount(0);
    await expect(bubbleWith(bob, question)).toBeVisible();

    // After a reload the thread-only reply is still only in the thread.
    await alice.reload({ waitUntil: "networkidle" });
    await expect(panel(alice)).toBeVisible();
    await expect(panelReplies(alice)).toContainText(first);
    await expect(bubbleWith(alice, first)).toHaveCount(0);
  } finally {
    await close();
  }
});
