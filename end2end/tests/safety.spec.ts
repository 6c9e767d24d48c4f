import { test, expect } from "@playwright/test";
import { channelRow, login, messagesWith, openChannel, sendWithEnter, unique } from "./helpers";

test("a message with HTML and script shows as text and never runs", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  await login(page, "alice@example.com");
  await openChannel(page, "Design");
  const marker = unique("xss");
  const payload = `${marker} <img src=x onerror=alert(1)> <script>alert(2)</script>`;
  await sendWithEnter(page, payload);
  const item = messagesWith(page, marker);
  await expect(item).toHaveCount(1);
  await expect(item).toContainText("<img src=x onerror=alert(1)>");
  await expect(item.locator("img, script")).toHaveCount(0);
  // After a reload the server-rendered copy is text as well.
  await page.reload({ waitUntil: "networkidle" });
  await expect(messagesWith(page, marker)).toContainText("<script>alert(2)</script>");
  await expect(messagesWith(page, marker).locator("img, script")).toHaveCount(0);
  expect(dialogs).toEqual([]);
});

test("only http(s) URLs become links, opened without opener or referrer", async ({ page }) => {
  await login(page, "alice@example.com");
  await openChannel(page, "Design");
  const marker = unique("links");
  await sendWithEnter(page, `${marker} see https://example.com/a?b=1. or javascript:alert(1) or data:text/html,x`);
  const item = messagesWith(page, marker);
  await expect(item).toHaveCount(1);
  const links = item.locator("a");
  await expect(links).toHaveCount(1);
  await expect(links).toHaveAttribute("href", "https://example.com/a?b=1");
  await expect(links).toHaveAttribute("rel", "noopener noreferrer");
  await expect(links).toHaveAttribute("target", "_blank");
  await expect(item).toContainText("javascript:alert(1)");
});

test("carol cannot open Product and is told why", async ({ page }) => {
  // Alice finds Product's address; carol is not a member.
  await login(page, "alice@example.com");
  const href = await channelRow(page, "Product").getByRole("link").getAttribute("href");
  expect(href).toMatch(/^\/chat\//);
  await page.context().clearCookies();

  await login(page, "carol@example.com");
  await expect(channelRow(page, "Product")).toHaveCount(0);
  await page.goto(href!);
  await expect(page.getByRole("alert")).toHaveText("You are not a member of this conversation.");
  await expect(page.getByRole("log", { name: "Messages" })).toHaveCount(0);
});
