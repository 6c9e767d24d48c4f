import { test, expect, type Locator, type Page } from "@playwright/test";
import { bubbleWith, errorsOf, loggedIn, openChannel, sendWithEnter, shoot, unique } from "./helpers";

// Message formatting (PROTOCOL.md "Formatting"), in two browser contexts:
// alice sends formatted messages and messages that try HTML, a
// `javascript:` link and an image; bob sees them live (drawn by the Wasm),
// then reloads and sees the same elements drawn by the server. Light and
// dark, wide and narrow screenshots are saved (test-results/.../*.png).

/** The `.text` markup of a message, without Leptos' hydration comments
 * (the server's page carries them, the browser's own drawing does not). */
async function textMarkup(item: Locator): Promise<string> {
  const html = await item.locator(".text").innerHTML();
  return html.replace(/<!--[\s\S]*?-->/g, "");
}

test("formatted messages look the same live and after a reload, and unsafe Markdown stays text", async ({
  browser,
}, info) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  const dialogs: string[] = [];
  for (const page of [alice, bob]) {
    page.on("dialog", async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
  }
  try {
    await openChannel(bob, "Design");
    await openChannel(alice, "Design");
    const styled = unique("fmt-styles");
    const code = unique("fmt-code");
    const unsafe = unique("fmt-unsafe");
    await sendWithEnter(
      alice,
      [
        `${styled} **bold** *italic* ~~strike~~ \`a*b*c\` [the docs](https://example.com/docs) and https://example.org/x.`,
        "second line",
        "> a quoted line",
        "",
        "- one",
        "- two",
        "  1. nested",
        "  2. list",
      ].join("\n"),
    );
    await sendWithEnter(
      alice,
      [
        `${code}`,
        "```js",
        `const html = "<b>**not bold**</b>"; // a long line that must scroll inside its block rather than widen the page ${"x".repeat(80)}`,
        "```",
      ].join("\n"),
    );
    await sendWithEnter(
      alice,
      [
        `${unsafe} <script>alert(1)</script> <b>x</b> [click](javascript:alert(1)) [caps](JaVaScRiPt:alert(2))`,
        "![img](http://other.host/a.png) <http://auto.example/a>",
        "",
        "# not a heading",
      ].join("\n"),
    );

    // Bob sees them live, drawn by the Wasm.
    const check = async (page: Page) => {
      const s = bubbleWith(page, styled);
      await expect(s).toHaveCount(1);
      await expect(s.locator(".text strong")).toHaveText("bold");
      // Plain text stays plain (a stray rule once made every block bold).
      expect(await s.locator(".text > p").first().evaluate((el) => getComputedStyle(el).fontWeight)).toBe("400");
      await expect(s.locator(".text em")).toHaveText("italic");
      await expect(s.locator(".text del")).toHaveText("strike");
      await expect(s.locator(".text code")).toHaveText("a*b*c");
      await expect(s.locator(".text br")).toHaveCount(1);
      await expect(s.locator(".text blockquote")).toHaveText("a quoted line");
      await expect(s.locator(".text ul > li")).toHaveCount(2);
      await expect(s.locator(".text ul > li ol > li")).toHaveText(["nested", "list"]);
      const links = s.locator(".text a");
      await expect(links).toHaveCount(2);
      await expect(links.nth(0)).toHaveText("the docs");
      await expect(links.nth(0)).toHaveAttribute("href", "https://example.com/docs");
      await expect(links.nth(1)).toHaveAttribute("href", "https://example.org/x");
      for (const link of await links.all()) {
        await expect(link).toHaveAttribute("rel", "noopener noreferrer");
        await expect(link).toHaveAttribute("target", "_blank");
      }

      const c = bubbleWith(page, code);
      await expect(c.locator(".text pre code")).toContainText('const html = "<b>**not bold**</b>";');
      await expect(c.locator(".text b, .text strong")).toHaveCount(0);

      const u = bubbleWith(page, unsafe);
      await expect(u).toHaveCount(1);
      await expect(u.locator("script, img, b, h1")).toHaveCount(0);
      await expect(u).toContainText("<script>alert(1)</script> <b>x</b> [click](javascript:alert(1))");
      await expect(u).toContainText("[caps](JaVaScRiPt:alert(2))");
      await expect(u).toContainText("![img](http://other.host/a.png)");
      await expect(u).toContainText("# not a heading");
      // Only the image's address and the autolink are links.
      const unsafeLinks = u.locator(".text a");
      await expect(unsafeLinks).toHaveCount(2);
      await expect(unsafeLinks.nth(0)).toHaveAttribute("href", "http://other.host/a.png");
      await expect(unsafeLinks.nth(1)).toHaveAttribute("href", "http://auto.example/a");
      for (const link of await unsafeLinks.all()) {
        await expect(link).toHaveAttribute("rel", "noopener noreferrer");
        await expect(link).toHaveAttribute("target", "_blank");
      }
      return [await textMarkup(s), await textMarkup(c), await textMarkup(u)];
    };
    const live = await check(bob);
    // Alice's own copies (confirmed after sending) are drawn the same way.
    expect(await check(alice)).toEqual(live);
    await shoot(alice, info, "formatting-mine");
    await shoot(bob, info, "formatting-live");

    // After a reload the server draws them: the same elements, the same text.
    const errors = errorsOf(bob);
    await bob.reload({ waitUntil: "networkidle" });
    await expect(bob.locator('.chat-room[data-connection="connected"]')).toBeVisible();
    expect(await check(bob)).toEqual(live);
    await shoot(bob, info, "formatting-reloaded");

    // Narrow: the code block scrolls inside the bubble; the page never
    // gets wider than the window.
    await bob.setViewportSize({ width: 390, height: 760 });
    await bubbleWith(bob, code).scrollIntoViewIfNeeded();
    const pre = bubbleWith(bob, code).locator("pre");
    const { scroll, client } = await pre.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(scroll).toBeGreaterThan(client);
    expect(await bob.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shoot(bob, info, "formatting-narrow");

    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
  } finally {
    await close();
  }
});
