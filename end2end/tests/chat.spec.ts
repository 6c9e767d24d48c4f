import { test, expect } from "@playwright/test";
import {
  listTexts,
  loggedIn,
  messagesWith,
  openChannel,
  sendWithButton,
  sendWithEnter,
  unique,
} from "./helpers";

test("alice and bob chat in General in real time", async ({ browser }) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {

    await openChannel(alice, "General");
    await openChannel(bob, "General");
    // The header counts who is here.
    await expect(alice.getByTestId("online-count")).toHaveText("2 online");
    await expect(bob.getByTestId("online-count")).toHaveText("2 online");

    // Alice -> Bob, sent with Enter.
    const hello = unique("ping");
    await sendWithEnter(alice, hello);
    await expect(messagesWith(bob, hello)).toHaveCount(1);
    await expect(messagesWith(bob, hello)).toContainText(/alice/i);
    // Screen readers hear it through the page's live region.
    await expect(bob.getByTestId("announcer")).toHaveText(`Alice: ${hello}`);
    await expect(bob.getByTestId("announcer")).toHaveAttribute("aria-live", "polite");
    await expect(messagesWith(alice, hello)).toHaveCount(1);

    // Bob -> Alice, sent with the Send button.
    const reply = unique("pong");
    await sendWithButton(bob, reply);
    await expect(messagesWith(alice, reply)).toHaveCount(1);
    await expect(messagesWith(alice, reply)).toContainText(/bob/i);
    await expect(messagesWith(bob, reply)).toHaveCount(1);

    // Both see the two messages once each, in the same order: hello, then reply.
    const order = async (page: typeof alice) =>
      (await listTexts(page))
        .map((t) => (t.includes(hello) ? "hello" : t.includes(reply) ? "reply" : null))
        .filter((x) => x !== null);
    await expect.poll(() => order(alice)).toEqual(["hello", "reply"]);
    await expect.poll(() => order(bob)).toEqual(["hello", "reply"]);

    // Bob leaves: alice's header follows.
    await bob.close();
    await expect(alice.getByTestId("online-count")).toHaveText("1 online");
  } finally {
    await close();
  }
});
