import { test, expect } from "@playwright/test";
import { OwnServer } from "./own-server";
import { login, messageLog, messagesWith, openChannel, unique } from "./helpers";

test("Enter sends, Shift+Enter starts a new line, empty text cannot be sent", async ({ page }) => {
  await login(page, "alice@example.com");
  await openChannel(page, "Random");
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  const send = page.getByRole("button", { name: "Send", exact: true });

  // Whitespace only: the button is disabled and Enter sends nothing.
  const before = await messageLog(page).getByRole("listitem").count();
  await box.fill("   ");
  await expect(send).toBeDisabled();
  await box.press("Enter");
  await page.waitForTimeout(300);
  await expect(messageLog(page).getByRole("listitem")).toHaveCount(before);

  // Two lines: Shift+Enter inserts the break, Enter sends both lines.
  const first = unique("line one");
  await box.fill("");
  await box.pressSequentially(first);
  await box.press("Shift+Enter");
  await box.pressSequentially("line two");
  await expect(box).toHaveValue(`${first}\nline two`);
  await expect(messagesWith(page, first)).toHaveCount(0);
  await box.press("Enter");
  const sent = messagesWith(page, first);
  await expect(sent).toHaveCount(1);
  await expect(box).toHaveValue("");
  await expect(box).toBeFocused();
  // The line break is kept on screen.
  expect(await sent.locator(".text").innerText()).toBe(`${first}\nline two`);
});

test("the length limit shows before the server would refuse", async ({ browser }) => {
  const server = await OwnServer.start({ CHAT_MAX_TEXT_CHARS: "50" });
  const ctx = await browser.newContext({ baseURL: server.baseURL });
  try {
    const page = await ctx.newPage();
    await login(page, "alice@example.com");
    await openChannel(page, "General");
    const box = page.getByRole("textbox", { name: "Message", exact: true });
    const send = page.getByRole("button", { name: "Send", exact: true });
    const count = page.getByTestId("composer-count");

    await box.fill("x".repeat(20));
    await expect(count).toBeHidden();
    await box.fill("x".repeat(45));
    await expect(count).toHaveText("45 / 50");
    await expect(send).toBeEnabled();
    await box.fill("x".repeat(53));
    await expect(count).toHaveText("3 characters too long (53 / 50)");
    await expect(box).toHaveAttribute("aria-invalid", "true");
    await expect(send).toBeDisabled();
    await box.press("Enter");
    await page.waitForTimeout(300);
    await expect(messagesWith(page, "x".repeat(53))).toHaveCount(0);

    await box.fill("y".repeat(50));
    await box.press("Enter");
    await expect(messagesWith(page, "y".repeat(50))).toHaveCount(1);
  } finally {
    await ctx.close();
    await server.dispose();
  }
});
