import { test, expect } from "@playwright/test";
import { OwnServer } from "./own-server";
import { listTexts, loggedIn, messagesWith, openChannel, sendWithEnter, unique } from "./helpers";

test("after a server restart bob's page reconnects and shows what he missed, once each, in order", async ({ browser }) => {
  const server = await OwnServer.start();
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"], server.baseURL);
  const bobCtx = bob.context();
  try {
    await openChannel(bob, "General");
    const before = unique("before restart");
    await sendWithEnter(bob, before);
    await expect(messagesWith(bob, before)).toHaveCount(1);
    await expect(bob.getByTestId("connection-state")).toHaveText("Connected");

    // Bob's browser goes offline while the server restarts, so nothing can
    // reach him live: what alice posts meanwhile must come from `resume`.
    await bobCtx.setOffline(true);
    await server.stop();
    await expect(bob.getByTestId("connection-state")).toHaveText(/Offline|Reconnecting/);
    await server.resume();

    // Bob writes while disconnected: shown at once as pending.
    const offline = unique("written offline");
    await sendWithEnter(bob, offline);
    await expect(messagesWith(bob, offline)).toContainText("Sending…");

    await openChannel(alice, "General");
    const missed = [unique("missed 1"), unique("missed 2"), unique("missed 3")];
    for (const text of missed) {
      await sendWithEnter(alice, text);
      await expect(messagesWith(alice, text)).toHaveCount(1);
    }
    await expect(messagesWith(bob, missed[0])).toHaveCount(0);

    // Back online: reconnect at once, resume, resend the pending message.
    await bobCtx.setOffline(false);
    await expect(bob.getByTestId("connection-state")).toHaveText("Connected");
    for (const text of [...missed, offline]) {
      await expect(messagesWith(bob, text)).toHaveCount(1);
    }
    await expect(messagesWith(bob, offline)).not.toContainText("Sending…");
    await expect(messagesWith(alice, offline)).toHaveCount(1);

    // Same messages, same order, no duplicates, on both pages.
    const bobTexts = await listTexts(bob);
    const aliceTexts = await listTexts(alice);
    const order = (texts: string[]) =>
      [before, ...missed, offline].map((t) => texts.findIndex((x) => x.includes(t)));
    const bobOrder = order(bobTexts);
    expect(bobOrder.every((i) => i >= 0)).toBe(true);
    expect([...bobOrder].sort((a, b) => a - b)).toEqual(bobOrder);
    const seqs = async (page: typeof bob) =>
      page.locator(".messages li.message[data-seq]").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq"))));
    const bobSeqs = await seqs(bob);
    expect(new Set(bobSeqs).size).toBe(bobSeqs.length);
    expect(bobSeqs).toEqual([...bobSeqs].sort((a, b) => a - b));
    expect(bobSeqs).toEqual(await seqs(alice));
  } finally {
    await close();
    await server.dispose();
  }
});

test("when the browser goes offline the page says so at once, keeps sends pending, and delivers them once back online", async ({ browser }) => {
  // The server stays up: only the browser's network goes. Its socket still
  // looks open (no close can reach it), so the page must act on the
  // browser's `offline` event rather than wait to hear of it.
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  const bobCtx = bob.context();
  try {
    await openChannel(bob, "General");
    await openChannel(alice, "General");
    await expect(bob.getByTestId("connection-state")).toHaveText("Connected");

    await bobCtx.setOffline(true);
    await expect(bob.getByTestId("connection-state")).toHaveText("Offline", { timeout: 3_000 });
    const pending = unique("sent while offline");
    await sendWithEnter(bob, pending);
    await expect(messagesWith(bob, pending)).toContainText("Sending…");
    await expect(messagesWith(alice, pending)).toHaveCount(0);

    await bobCtx.setOffline(false);
    await expect(bob.getByTestId("connection-state")).toHaveText("Connected");
    await expect(messagesWith(alice, pending)).toHaveCount(1);
    await expect(messagesWith(bob, pending)).toHaveCount(1);
    await expect(messagesWith(bob, pending)).not.toContainText("Sending…");
  } finally {
    await close();
  }
});
