import { test, expect } from "@playwright/test";
import { loggedIn, openChannel } from "./helpers";

test("bob sees alice typing, and the indicator goes away after she stops", async ({ browser }) => {
  const { pages: [alice, bob], close } = await loggedIn(browser, ["alice@example.com", "bob@example.com"]);
  try {
    await openChannel(alice, "Random");
    await openChannel(bob, "Random");

    const indicator = bob.getByTestId("typing-indicator");
    await expect(indicator).toHaveText("");
    const box = alice.getByRole("textbox", { name: "Message", exact: true });
    await box.pressSequentially("hello th", { delay: 50 });
    await expect(indicator).toHaveText("Alice is typing…");
    // Alice does not see herself typing.
    await expect(alice.getByTestId("typing-indicator")).toHaveText("");
    // She stops: after 2 s without input the client sends typing.stop.
    await expect(indicator).toHaveText("", { timeout: 8_000 });
  } finally {
    await close();
  }
});
