import { test, expect } from "@playwright/test";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { bubbleWith, errorsOf, loggedIn, openChannel, pngBytes, sendWithEnter, shoot, unique } from "./helpers";
import { OwnServer } from "./own-server";

// A link preview appearing (PROTOCOL.md "Link previews"): a page served on
// loopback by this test, reached by a server of the test's own (previews
// are off on the shared one, whose tests post links to other hosts) as
// `site.test`, the one test host name it resolves to 127.0.0.1. Alice posts its
// link; in bob's browser the card comes with its title, description,
// site and the server's own copy of the page's picture, at its size before
// it loads; after a reload it is drawn by the server too.

/** The linked page's picture: 600 × 315, a typical og:image. */
const PICTURE_PIXELS = { width: 600, height: 315 };

test("a link preview appears live and after a reload", async ({ browser }, info) => {
  const server = await OwnServer.start({ CHAT_LINK_PREVIEWS: "true", CHAT_PREVIEW_TEST_HOSTS: "site.test" });
  const { pages: [alice, bob], close } = await loggedIn(
    browser,
    ["alice@example.com", "bob@example.com"],
    server.baseURL,
  );
  const png = await pngBytes(alice, PICTURE_PIXELS.width, PICTURE_PIXELS.height);
  const hits: string[] = [];
  const site = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    if (req.url === "/plan") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(
        `<!doctype html><html><head><title>fallback</title>
         <meta property="og:title" content="Q3 plan &amp; budget">
         <meta property="og:description" content="What we ship this quarter, who does it, and what it costs.">
         <meta property="og:site_name" content="Team Docs">
         <meta property="og:image" content="/cover.png"></head><body></body></html>`,
      );
    } else if (req.url === "/cover.png") {
      res.writeHead(200, { "content-type": "image/png" });
      res.end(png);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((done) => site.listen(0, "127.0.0.1", done));
  const port = (site.address() as AddressInfo).port;
  try {
    await openChannel(alice, "Product");
    await openChannel(bob, "Product");
    const text = unique("Plan for Q3:");
    await sendWithEnter(alice, `${text} http://site.test:${port}/plan`);

    const card = bubbleWith(bob, text).getByTestId("link-preview");
    await expect(card).toBeVisible();
    await expect(card.locator(".link-preview-title")).toHaveText("Q3 plan & budget");
    await expect(card.locator(".link-preview-title")).toHaveAttribute("href", `http://site.test:${port}/plan`);
    await expect(card.locator(".link-preview-title")).toHaveAttribute("rel", "noopener noreferrer");
    await expect(card.locator(".link-preview-site")).toHaveText("Team Docs");
    await expect(card.locator(".link-preview-description")).toContainText("What we ship");
    // The server's copy of the picture (never the site's address), with its
    // size known before it loads.
    const img = card.locator("img");
    await expect(img).toHaveAttribute("src", /^\/chat\/previews\/[0-9a-f-]+\/image$/);
    await expect(img).toHaveAttribute("width", "320");
    await expect(img).toHaveAttribute("height", "168");
    await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(400);
    // Alice sees it on her own message too.
    await expect(bubbleWith(alice, text).getByTestId("link-preview")).toBeVisible();
    // Fetched once: the page and its picture, by the server.
    expect(hits.filter((h) => h === "/plan")).toHaveLength(1);
    expect(hits.filter((h) => h === "/cover.png")).toHaveLength(1);
    await shoot(bob, info, "link-preview");
    await bob.setViewportSize({ width: 390, height: 800 });
    await expect(card).toBeVisible();
    await shoot(bob, info, "link-preview-narrow");
    await bob.setViewportSize({ width: 1280, height: 720 });

    // Drawn by the server after a reload (SSR), then hydrated without an
    // error.
    const errors = errorsOf(bob);
    await bob.reload({ waitUntil: "networkidle" });
    await expect(bob.locator('.chat-room[data-connection="connected"]')).toBeVisible();
    const again = bubbleWith(bob, text).getByTestId("link-preview");
    await expect(again.locator(".link-preview-title")).toHaveText("Q3 plan & budget");
    await expect(again.locator("img")).toHaveAttribute("width", "320");
    expect(errors).toEqual([]);
  } finally {
    site.close();
    await close();
    await server.dispose();
  }
});
