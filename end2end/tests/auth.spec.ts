import { test, expect } from "@playwright/test";
import { channelRow, login, openChannel } from "./helpers";

test("unauthenticated /chat redirects to /login", async ({ page }) => {
  await page.goto("/chat");
  await expect(page).toHaveURL(/\/login(\?|$)/);
  await expect(page.getByLabel("Email")).toBeVisible();
});

test("a visit to a conversation without a session logs in and comes back to it", async ({ page, browser }) => {
  // Find General's address with a session of its own.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await login(otherPage, "alice@example.com");
  const href = await channelRow(otherPage, "General").getByRole("link").getAttribute("href");
  await other.close();

  await page.goto(href!);
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.waitForLoadState("networkidle");
  await page.getByLabel("Email").fill("alice@example.com");
  await page.getByLabel("Password").fill("password");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`${href}$`));
  await expect(page.locator('.chat-room[data-connection="connected"]')).toBeVisible();
});

test("a wrong password shows an error and stays on /login", async ({ page }) => {
  await page.goto("/login", { waitUntil: "networkidle" });
  await page.getByLabel("Email").fill("alice@example.com");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  // The contract does not name the error element: accept an ARIA alert or a
  // visible text that says the login failed.
  const error = page
    .getByRole("alert")
    .or(page.getByText(/invalid|incorrect|wrong|failed|not match/i));
  await expect(error.first()).toBeVisible();
  await expect(page).toHaveURL(/\/login(\?|$)/);
});

test("log out returns to /login and ends the session", async ({ page }) => {
  await login(page, "alice@example.com");
  await openChannel(page, "General");
  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await expect(page).toHaveURL(/\/login(\?|$)/);
  // The session is really gone: /chat sends us back to /login.
  await page.goto("/chat");
  await expect(page).toHaveURL(/\/login(\?|$)/);
});
