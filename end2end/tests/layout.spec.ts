import { test, expect, type Page } from "@playwright/test";
import { channelRow, login, openChannel, sendWithEnter, unique } from "./helpers";

const background = (page: Page) =>
  page.evaluate(() => getComputedStyle(document.body).backgroundColor);

test("the theme follows the system until the toggle picks one, and the choice is remembered", async ({ browser }) => {
  const ctx = await browser.newContext({ colorScheme: "dark" });
  const page = await ctx.newPage();
  try {
    await login(page, "alice@example.com");
    const toggle = page.getByRole("button", { name: /^Theme:/ });
    await expect(toggle).toHaveAccessibleName("Theme: system");
    const systemDark = await background(page);
    await toggle.click();
    await expect(toggle).toHaveAccessibleName("Theme: light");
    await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
    const light = await background(page);
    expect(light).not.toBe(systemDark);
    await toggle.click();
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    expect(await background(page)).toBe(systemDark);

    // Remembered across a reload, applied before the page hydrates.
    await toggle.click(); // system
    await toggle.click(); // light
    await page.reload();
    await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
    expect(await background(page)).toBe(light);
  } finally {
    await ctx.close();
  }
});

test("on a narrow window the sidebar is a drawer", async ({ browser }) => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  try {
    await login(page, "alice@example.com");
    // No conversation open: the list is the page.
    await expect(channelRow(page, "General")).toBeVisible();
    await expect(page.getByText("Select a conversation to start chatting")).toBeHidden();

    await openChannel(page, "General");
    const sidebar = page.getByRole("navigation", { name: "Channels" });
    await expect(sidebar).toBeHidden();
    await expect(page.getByRole("textbox", { name: "Message", exact: true })).toBeVisible();

    const toggle = page.getByRole("button", { name: "Conversations" });
    await expect(toggle).toHaveAttribute("aria-expanded", "false");
    await toggle.click();
    await expect(sidebar).toBeVisible();
    await expect(toggle).toHaveAttribute("aria-expanded", "true");
    await page.keyboard.press("Escape");
    await expect(sidebar).toBeHidden();

    // Choosing another conversation from the drawer closes it.
    await toggle.click();
    await openChannel(page, "Random");
    await expect(sidebar).toBeHidden();
  } finally {
    await ctx.close();
  }
});

test("on a wide window the sidebar collapses and comes back", async ({ page }) => {
  await login(page, "alice@example.com");
  await openChannel(page, "General");
  const sidebar = page.getByRole("navigation", { name: "Channels" });
  const toggle = page.getByRole("button", { name: "Conversations" });
  await expect(sidebar).toBeVisible();
  await toggle.click();
  await expect(sidebar).toBeHidden();
  await toggle.click();
  await expect(sidebar).toBeVisible();
});

test("keyboard focus is visible", async ({ page }) => {
  await login(page, "alice@example.com");
  await openChannel(page, "General");
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  await box.focus();
  await page.keyboard.press("Shift+Tab");
  const outline = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    return el === document.body ? "none" : getComputedStyle(el).outlineStyle;
  });
  expect(outline).not.toBe("none");
});

// Screenshots of the main states, kept as test artifacts (in
// test-results/) to look at: light and dark, wide and narrow.
for (const colorScheme of ["light", "dark"] as const) {
  for (const size of [
    { name: "wide", width: 1280, height: 800 },
    { name: "narrow", width: 390, height: 844 },
  ]) {
    test(`screenshot: ${size.name}, ${colorScheme}`, async ({ browser }, testInfo) => {
      const ctx = await browser.newContext({
        colorScheme,
        viewport: { width: size.width, height: size.height },
        isMobile: size.name === "narrow",
      });
      const page = await ctx.newPage();
      try {
        await login(page, "alice@example.com");
        const shot = async (name: string) => {
          const file = testInfo.outputPath(`${name}-${size.name}-${colorScheme}.png`);
          await page.screenshot({ path: file });
          await testInfo.attach(name, { path: file, contentType: "image/png" });
        };
        await shot("channels");
        await openChannel(page, "General");
        await sendWithEnter(page, unique("Screenshot check: line one\nline two, https://example.com"));
        await shot("conversation");
        if (size.name === "narrow") {
          await page.getByRole("button", { name: "Conversations" }).click();
          await page.waitForTimeout(300);
          await shot("drawer");
        }
      } finally {
        await ctx.close();
      }
    });
  }
}
