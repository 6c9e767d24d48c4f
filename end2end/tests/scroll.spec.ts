import { test, expect, type Page } from "@playwright/test";
import { OwnServer } from "./own-server";
import { loggedIn, messageLog, messagesWith, openChannel, sendWithEnter, unique } from "./helpers";

const TOTAL = 300;

/** Sends `count` messages into the open channel over a WebSocket of the page's own, and waits until all are stored. */
async function postMany(page: Page, count: number, prefix: string) {
  const channelId = page.url().split("/chat/")[1];
  await page.evaluate(
    async ({ channelId, count, prefix }) => {
      const ws = new WebSocket(`ws://${location.host}/chat/ws/${channelId}`);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      let stored = 0;
      const done = new Promise<void>((resolve) => {
        ws.onmessage = (ev) => {
          const frame = JSON.parse(ev.data);
          if (frame.type === "message.new" && frame.text.startsWith(prefix) && ++stored === count) resolve();
        };
      });
      for (let i = 1; i <= count; i++) {
        ws.send(JSON.stringify({ type: "message.send", text: `${prefix} ${String(i).padStart(3, "0")}`, clientId: `${prefix}-${i}` }));
      }
      await done;
      ws.close();
    },
    { channelId, count, prefix },
  );
}

/** Where the text of the message with `seq` sits in the scroll box (its
 * bottom edge: the name above it disappears when older messages by the same
 * sender arrive and join it into a group). */
async function placeOf(page: Page, seq: number): Promise<number> {
  return page.evaluate((seq) => {
    const box = document.querySelector(".message-scroll")!.getBoundingClientRect();
    const el = document.querySelector(`.messages li[data-seq="${seq}"] .bubble`)!;
    return el.getBoundingClientRect().bottom - box.top;
  }, seq);
}

async function firstSeq(page: Page): Promise<number> {
  return Number(await messageLog(page).locator("li[data-seq]").first().getAttribute("data-seq"));
}

test("loading older messages keeps the scroll position, and new ones below show a pill", async ({ browser }) => {
  const server = await OwnServer.start({ CHAT_RATE_BURST: "1000" });
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"], server.baseURL);
  try {
    await openChannel(alice, "General");
    const prefix = unique("history");
    await postMany(alice, TOTAL, prefix);

    await openChannel(bob, "General");
    const log = messageLog(bob);
    // The first page: the newest messages, the newest in view.
    await expect(messagesWith(bob, `${prefix} ${TOTAL}`)).toBeVisible();
    await bob.evaluate(() => {
      const s = document.querySelector(".message-scroll")!;
      s.scrollTop = s.scrollHeight;
    });
    let shown = await log.locator("li[data-seq]").count();
    expect(shown).toBeLessThan(TOTAL);

    // Scroll to the top again and again: each page of older messages lands
    // above without moving the message that was at the top.
    while (shown < TOTAL) {
      const anchor = await firstSeq(bob);
      // Where the reader sees the anchor once scrolled to the very top.
      const before = await bob.evaluate(
        (seq) => {
          const s = document.querySelector(".message-scroll")!;
          const el = document.querySelector(`.messages li[data-seq="${seq}"] .bubble`)!;
          return el.getBoundingClientRect().bottom - s.getBoundingClientRect().top + s.scrollTop;
        },
        anchor,
      );
      await bob.evaluate(() => {
        document.querySelector(".message-scroll")!.scrollTop = 0;
      });
      await expect(log.locator("li[data-seq]")).not.toHaveCount(shown);
      await expect.poll(() => firstSeq(bob)).toBeLessThan(anchor);
      // Let the position settle (one animation frame), then compare.
      await bob.waitForTimeout(100);
      const after = await placeOf(bob, anchor);
      expect(Math.abs(after - before)).toBeLessThanOrEqual(2);
      shown = await log.locator("li[data-seq]").count();
    }
    await expect(bob.getByText("This is the beginning of the conversation.")).toBeVisible();
    const seqs = await log.locator("li[data-seq]").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq"))));
    expect(seqs).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));

    // Bob reads old messages; alice posts: he stays where he is and a pill
    // counts the new message; the pill takes him to it.
    const scrollTop = () => bob.evaluate(() => document.querySelector(".message-scroll")!.scrollTop);
    const topBefore = await scrollTop();
    const fresh = unique("while reading");
    await sendWithEnter(alice, fresh);
    const pill = bob.getByRole("button", { name: /1 new message/ });
    await expect(pill).toBeVisible();
    expect(Math.abs((await scrollTop()) - topBefore)).toBeLessThanOrEqual(2);
    await expect(messagesWith(bob, fresh)).not.toBeInViewport();
    await pill.click();
    await expect(messagesWith(bob, fresh)).toBeInViewport();
    await expect(pill).toHaveCount(0);

    // At the bottom, the list follows new messages by itself.
    const next = unique("at the bottom");
    await sendWithEnter(alice, next);
    await expect(messagesWith(bob, next)).toBeInViewport();
    await expect(bob.getByRole("button", { name: /new message/ })).toHaveCount(0);
  } finally {
    await close();
    await server.dispose();
  }
});
