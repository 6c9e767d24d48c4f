import { test, expect } from "@playwright/test";
import { loggedIn, messagesWith, openChannel, unique } from "./helpers";

test("bob sees alice typing, and the indicator goes away after she stops", async ({ browser }) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "Random");
    await openChannel(bob, "Random");

    const indicator = bob.getByTestId("typing-indicator");
    await expect(indicator).toHaveText("");
    const box = alice.getByRole("textbox", { name: "Message", exact: true });
    await box.pressSequentially("hello th", { delay: 50 });
    await expect(indicator).toHaveText("Alice is typing…");
    // Alice does not see herself typing.
    await expect(alice.getByTestId("typing-indicator")).toHaveText("");
    // She stops: after 2 s without input the client sends typing.stop.
    await expect(indicator).toHaveText("", { timeout: 8_000 });
  } finally {
    await close();
  }
});

// Someone who sends and at once types the next message is shown typing. The
// client sends one typing.start per burst of typing; the server used to drop
// a start that came within 500 ms of the previous one, so this whole burst
// went unseen. Now such a start is deferred to the end of the gap.
test("bob sees alice typing again when she starts the next message right after sending", async ({ browser }) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "Random");
    await openChannel(bob, "Random");
    const indicator = bob.getByTestId("typing-indicator");
    const box = alice.getByRole("textbox", { name: "Message", exact: true });
    const first = unique("quick");

    // Type (one input event: typing starts), send, and start the next
    // message at once: the second start comes well within 500 ms of the
    // first.
    await box.fill(first);
    await box.press("Enter");
    await box.pressSequentially("and", { delay: 10 });
    // Keep typing (no idle stop) while bob looks.
    const typing = box.pressSequentially(" then some more words", { delay: 120 });

    await expect(messagesWith(bob, first)).toHaveCount(1);
    await expect(indicator).toHaveText("Alice is typing…", { timeout: 1_000 });
    await typing;
  } finally {
    await close();
  }
});
