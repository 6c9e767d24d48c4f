import { test, expect } from "@playwright/test";
import { channelRow, loggedIn, openChannel, sendWithEnter, unique } from "./helpers";

test("an unread badge rises live for a channel bob has not open and clears when he opens it", async ({ browser }) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    // Bob reads Product first, then sits in General.
    await openChannel(bob, "Product");
    await openChannel(bob, "General");
    await openChannel(alice, "Product");

    const productRow = channelRow(bob, "Product");
    await expect(productRow.getByTestId("unread-badge")).toHaveCount(0);

    const first = unique("unread one");
    await sendWithEnter(alice, first);
    await expect(productRow.getByTestId("unread-badge")).toHaveText("1");
    await expect(productRow).toContainText(`Alice: ${first}`);
    await sendWithEnter(alice, unique("unread two"));
    await expect(productRow.getByTestId("unread-badge")).toHaveText("2");
    // The most recent channel moves to the top.
    await expect(bob.locator(".channel-preview").first()).toContainText("Product");

    await openChannel(bob, "Product");
    await expect(productRow.getByTestId("unread-badge")).toHaveCount(0);
    // The conversation opens with a divider above the first unread message.
    const rows = bob.getByRole("log", { name: "Messages" }).locator("li");
    const texts = await rows.evaluateAll((els) => els.map((e) => (e.classList.contains("unread-divider") ? "DIVIDER" : e.textContent)));
    const divider = texts.indexOf("DIVIDER");
    expect(divider).toBeGreaterThanOrEqual(0);
    expect(texts[divider + 1]).toContain(first);
  } finally {
    await close();
  }
});

test("reading a channel in one tab clears its badge in the user's other tabs", async ({ browser }) => {
  const { pages: [alice, bobA], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    // A second tab of bob's: same browser context, same session.
    const bobB = await bobA.context().newPage();
    await openChannel(alice, "Design");
    // Bob starts with Design read (earlier tests may have posted there).
    await openChannel(bobA, "Design");
    await openChannel(bobA, "General");
    await bobB.goto("/chat");
    await openChannel(bobB, "Random");

    await sendWithEnter(alice, unique("for both tabs"));
    await expect(channelRow(bobA, "Design").getByTestId("unread-badge")).toHaveText("1");
    await expect(channelRow(bobB, "Design").getByTestId("unread-badge")).toHaveText("1");

    await openChannel(bobA, "Design");
    await expect(channelRow(bobA, "Design").getByTestId("unread-badge")).toHaveCount(0);
    await expect(channelRow(bobB, "Design").getByTestId("unread-badge")).toHaveCount(0);
  } finally {
    await close();
  }
});
