import { test, expect } from "@playwright/test";
import WebSocket from "ws";
import { messageLog, unique } from "./helpers";

// The page without JavaScript: the server-rendered login works, and a
// logged-in conversation shows the channel list and the latest messages
// (read-only: sending needs the WebSocket).
test.use({ javaScriptEnabled: false });

/** Sends `text` to `channel` as the token's user over the WebSocket; resolves once stored. */
async function sendOverWebSocket(baseURL: string, channel: string, token: string, text: string) {
  const ws = new WebSocket(`${baseURL.replace("http", "ws")}/chat/ws/${channel}?token=${encodeURIComponent(token)}`);
  const clientId = `nojs-${Date.now()}-${Math.random()}`;
  await new Promise<void>((resolve, reject) => {
    ws.on("error", reject);
    ws.on("open", () => ws.send(JSON.stringify({ type: "message.send", text, clientId })));
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === "message.new" && frame.clientId === clientId) resolve();
      if (frame.type === "error") reject(new Error(JSON.stringify(frame)));
    });
  });
  ws.close();
}

test("without JavaScript the login form works and a conversation shows its channels and latest messages", async ({ page, request, baseURL }) => {
  const login = await request.post("/auth/login", { data: { email: "bob@example.com", password: "password" } });
  const { token } = await login.json();
  const channels = await (await request.get("/chat/channels", { headers: { Authorization: `Bearer ${token}` } })).json();
  const general = channels.channels.find((c: { name: string }) => c.name === "General").id;
  const text = unique("seen without javascript");
  await sendOverWebSocket(baseURL!, general, token, text);

  // The form posts to the server function, which sets the cookie and
  // redirects: no script involved.
  await page.goto("/login");
  await page.getByLabel("Email").fill("alice@example.com");
  await page.getByLabel("Password").fill("password");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await expect(page).toHaveURL(/\/chat(\/|$|\?)/);
  for (const name of ["General", "Design", "Random", "Product"]) {
    await expect(page.locator(".channel-preview").filter({ hasText: name })).toBeVisible();
  }

  await page.goto(`/chat/${general}`);
  await expect(page.getByRole("heading", { name: "General" })).toBeVisible();
  await expect(messageLog(page).getByRole("listitem").filter({ hasText: text })).toHaveCount(1);
  // Server-rendered only: no script ran, so no socket connected.
  await expect(page.locator('.chat-room[data-connection="connected"]')).toHaveCount(0);
  await page.screenshot({ path: test.info().outputPath("no-javascript.png") });
});
