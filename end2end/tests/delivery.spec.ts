import { test, expect } from "@playwright/test";
import { OwnServer } from "./own-server";
import { loggedIn, messagesWith, openChannel, sendWithEnter, unique } from "./helpers";

test("a refused send is marked failed, and Retry stores it once with the same clientId", async ({ browser }) => {
  // A burst of 3 and 1 a second: the page's `resume` on connect takes one,
  // two quick messages the rest, and the third quick message is refused.
  const server = await OwnServer.start({ CHAT_RATE_BURST: "3", CHAT_RATE_PER_SECOND: "1" });
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"], server.baseURL);
  try {
    // Bob first: alice's resume then comes right before her three sends.
    // The limit refills one send a second, so the third is refused only if
    // it leaves less than a second after the resume; with bob opening in
    // between, a busy machine took longer than that.
    await openChannel(bob, "General");
    await openChannel(alice, "General");

    const texts = [unique("quick 1"), unique("quick 2"), unique("quick 3")];
    for (const text of texts) await sendWithEnter(alice, text);
    const failed = messagesWith(alice, texts[2]);
    await expect(failed).toContainText("Not sent: Sending too fast");
    await expect(failed).toHaveClass(/failed/);
    const clientId = await failed.getAttribute("data-client-id");
    await expect(messagesWith(bob, texts[1])).toHaveCount(1);
    await expect(messagesWith(bob, texts[2])).toHaveCount(0);

    // Retry once the limit allows: stored once, for both.
    await alice.waitForTimeout(1200);
    await failed.getByRole("button", { name: "Retry" }).click();
    await expect(messagesWith(alice, texts[2])).toHaveCount(1);
    await expect(messagesWith(alice, texts[2])).not.toHaveClass(/failed|pending/);
    await expect(messagesWith(bob, texts[2])).toHaveCount(1);

    // The stored copy carries the clientId of the first attempt.
    const history = await alice.evaluate(async (channelId) => {
      const res = await fetch(`/chat/channels/${channelId}/messages?limit=50`);
      return res.json();
    }, alice.url().split("/chat/")[1]);
    const stored = history.messages.filter((m: { text: string }) => m.text === texts[2]);
    expect(stored).toHaveLength(1);
    expect(stored[0].client_id).toBe(clientId);
  } finally {
    await close();
    await server.dispose();
  }
});
