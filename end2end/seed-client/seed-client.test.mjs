// The seed's own React client, unchanged, against the real server.
//
// `useChat.ts` here is the seed plan's hook (shared/seed, "Task 6: Frontend —
// useChat hook") copied byte for byte; the first test checks that it still
// is, when the seed is beside the clone. The hook runs as written: esbuild
// compiles the TypeScript, React renders it in jsdom, its WebSocket is a real
// client (the `ws` package, the browser API) and its fetch is Node's. The
// only things supplied from outside are what the seed's host app supplies:
// the session (`@xtablo/shared/contexts/SessionContext`) and the two
// `import.meta.env` URLs.
//
// It checks what a person using the seed's UI sees: every history message
// has its sender (so own messages are drawn as outgoing), pages come oldest
// first, "load more" pages backwards without gaps or repeats until the start,
// and live messages arrive once.
//
//   node --test end2end/seed-client/        (after a server build; see README)
//
// The server is the binary Playwright uses (CHAT_E2E_BIN, else
// $CARGO_TARGET_DIR/debug/chat), started on a free loopback port with a new
// data directory and demo data, and stopped afterwards.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { JSDOM } from "jsdom";
import WebSocket from "ws";
import { startServer } from "../lib/server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..");
const targetDir =
  process.env.CARGO_TARGET_DIR || path.join(os.homedir(), ".cache", "chat-target");
const serverBin = process.env.CHAT_E2E_BIN || path.join(targetDir, "debug", "chat");
const seedPlan = path.resolve(repoRoot, "..", "shared", "seed");

const TOTAL = 120; // history messages, more than two of the hook's pages (50)
const WAIT_MS = 15_000;

let server;
let base;
let workDir;

/** Polls `check` until it returns a truthy value; fails with `what`. */
async function waitFor(what, check, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

async function login(email) {
  const res = await fetch(`${base}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "password" }),
  });
  assert.equal(res.status, 200, `login ${email}`);
  const body = await res.json();
  return { token: body.token, id: body.user.id };
}

/** A plain protocol client (not the hook) that sends and awaits its echoes. */
async function openSocket(channelId, token) {
  const ws = new WebSocket(
    `${base.replace("http", "ws")}/chat/ws/${channelId}?token=${encodeURIComponent(token)}`,
  );
  const frames = [];
  ws.on("message", (data) => frames.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return {
    frames,
    async send(text) {
      const clientId = crypto.randomUUID();
      ws.send(JSON.stringify({ type: "message.send", text, clientId }));
      return waitFor(`echo of ${text}`, () =>
        frames.find((f) => f.type === "message.new" && f.clientId === clientId),
      );
    },
    close: () => ws.close(),
  };
}

/** The seed's hook compiled as the seed's app would compile it. */
async function bundleHook() {
  const entry = path.join(workDir, "entry.jsx");
  fs.writeFileSync(
    entry,
    `import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { useChat } from ${JSON.stringify(path.join(here, "useChat.ts"))};
// Renders the hook for a channel; every render's result goes to onResult.
export function mount(container, channelId, onResult) {
  function Probe() {
    onResult(useChat(channelId));
    return null;
  }
  const root = createRoot(container);
  root.render(createElement(Probe));
  return () => root.unmount();
}
`,
  );
  const session = path.join(workDir, "session.js");
  fs.writeFileSync(
    session,
    "export function useSession() { return globalThis.__seedSession; }\n",
  );
  const outfile = path.join(workDir, "hook.mjs");
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    outfile,
    logLevel: "silent",
    nodePaths: [path.join(here, "..", "node_modules")],
    alias: { "@xtablo/shared/contexts/SessionContext": session },
    define: {
      "import.meta.env": "globalThis.__seedEnv",
      "process.env.NODE_ENV": '"development"',
    },
  });
  return import(pathToFileURL(outfile).href);
}

before(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-seed-client-"));
  server = await startServer(serverBin, {
    JWT_SECRET: "seed-client-test-secret-0123456789abcdef",
    // 120 sends in a few seconds; the default limit is for people.
    CHAT_RATE_BURST: "1000",
    CHAT_RATE_PER_SECOND: "1000",
  });
  base = server.base;

  // jsdom's window and document, before React's DOM package is loaded;
  // Node 20 has fetch and crypto but no WebSocket: the `ws` client is the
  // browser API on a real socket.
  const dom = new JSDOM("<!doctype html><div id=root></div>", { url: base });
  globalThis.window = dom.window;
  globalThis.document = dom.window.document;
  if (!globalThis.navigator) globalThis.navigator = dom.window.navigator;
  globalThis.WebSocket = WebSocket;
});

after(async () => {
  if (server) await server.stop();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test("useChat.ts is the seed plan's hook, unchanged", { skip: !fs.existsSync(seedPlan) && "the seed plan is not beside the clone" }, () => {
  const plan = fs
    .readdirSync(seedPlan)
    .map((f) => fs.readFileSync(path.join(seedPlan, f), "utf8"))
    .find((text) => text.includes("Create apps/main/src/hooks/useChat.ts:"));
  assert.ok(plan, "no seed file holds the useChat hook");
  const lines = plan.split("\n");
  const start = lines.indexOf("Create apps/main/src/hooks/useChat.ts:") + 1;
  const end = lines.indexOf("- Step 2: Commit", start);
  const fromPlan = lines.slice(start, end).join("\n") + "\n";
  assert.equal(fs.readFileSync(path.join(here, "useChat.ts"), "utf8"), fromPlan);
});

test("the seed's useChat shows history with senders, pages back to the start, and stays live", async () => {
  const alice = await login("alice@example.com");
  const bob = await login("bob@example.com");
  const channels = await (
    await fetch(`${base}/chat/channels`, { headers: { Authorization: `Bearer ${alice.token}` } })
  ).json();
  const product = channels.channels.find((c) => c.name === "Product").id;

  // History: every third message is alice's, the rest bob's.
  const aliceWs = await openSocket(product, alice.token);
  const bobWs = await openSocket(product, bob.token);
  const senderOf = (i) => (i % 3 === 0 ? alice.id : bob.id);
  for (let i = 0; i < TOTAL; i++) {
    await (i % 3 === 0 ? aliceWs : bobWs).send(`m${i}`);
  }
  aliceWs.close();

  // The seed's app, logged in as alice.
  globalThis.__seedEnv = { VITE_CHAT_WS_URL: base.replace("http", "ws"), VITE_CHAT_API_URL: base };
  globalThis.__seedSession = { session: { access_token: alice.token, user: { id: alice.id } } };
  const { mount } = await bundleHook();
  let chat;
  const unmount = mount(document.getElementById("root"), product, (r) => (chat = r));

  const texts = () => chat.messages.map((m) => m.text);
  const expectRange = (from, to) =>
    Array.from({ length: to - from }, (_, k) => `m${from + k}`);
  const checkSenders = () => {
    for (const m of chat.messages) {
      const i = Number(m.text.slice(1));
      assert.equal(m.userId, senderOf(i), `sender of ${m.text}: ${JSON.stringify(m)}`);
      assert.ok(m.clientId, `clientId of ${m.text}`);
      assert.ok(!Number.isNaN(Date.parse(m.createdAt)), `createdAt of ${m.text}: ${m.createdAt}`);
    }
  };

  // First page: the newest 50, oldest first, each with its sender (the seed
  // draws a message as outgoing when userId is the session's user).
  await waitFor("the first page and the socket", () => chat.isConnected && chat.messages.length === 50);
  assert.deepEqual(texts(), expectRange(TOTAL - 50, TOTAL));
  checkSenders();
  assert.equal(chat.hasMoreMessages, true);
  const outgoing = chat.messages.filter((m) => m.userId === alice.id).length;
  assert.ok(outgoing > 0 && outgoing < 50, `${outgoing} of 50 drawn as alice's own`);

  // "Load more" pages backwards by the oldest message's createdAt.
  chat.loadMoreMessages();
  await waitFor("the second page", () => chat.messages.length === 100);
  assert.deepEqual(texts(), expectRange(TOTAL - 100, TOTAL));
  assert.equal(chat.hasMoreMessages, true);
  chat.loadMoreMessages();
  await waitFor("the last page", () => chat.messages.length === TOTAL);
  assert.deepEqual(texts(), expectRange(0, TOTAL));
  assert.equal(chat.hasMoreMessages, false);
  checkSenders();

  // Live: bob's message arrives once; alice's own send replaces its
  // optimistic copy with the server's.
  await bobWs.send("live from bob");
  await waitFor("bob's live message", () => texts().at(-1) === "live from bob");
  assert.equal(chat.messages.at(-1).userId, bob.id);
  chat.sendMessage("sent by the seed's hook");
  await waitFor("the hook's own message, confirmed", () => {
    const last = chat.messages.at(-1);
    return last.text === "sent by the seed's hook" && !last.optimistic;
  });
  assert.equal(chat.messages.at(-1).userId, alice.id);
  await waitFor("bob to receive it", () =>
    bobWs.frames.find((f) => f.type === "message.new" && f.text === "sent by the seed's hook"),
  );
  assert.equal(new Set(chat.messages.map((m) => m.id)).size, chat.messages.length, "no duplicates");

  unmount();
  bobWs.close();
  // The seed's cleanup closes its socket, but that socket's onclose then
  // schedules a reconnect (a bug of the seed's hook, harmless in a page that
  // lives on). From here its sockets connect nowhere, so the process can end.
  globalThis.WebSocket = InertSocket;
});

/** A WebSocket that never connects, sends or fires an event. */
class InertSocket {
  static OPEN = 1;
  readyState = 0;
  send() {}
  close() {}
}
