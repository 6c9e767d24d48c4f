// First-load benchmark: what a browser transfers for a cold load of a
// conversation page, and how long until the page is interactive (the
// composer accepts input), on a throttled network and CPU, cold and warm
// cache. Prints a table; asserts nothing about timing.
//
//   node end2end/bench/first-load.mjs [--runs 5] [--bin PATH]
//
// It starts the release binary of scripts/release.sh (or --bin) alone in
// an empty directory on a free loopback port with demo data, logs alice in
// once, and then for each run opens a new browser context (empty cache)
// with the session cookie:
//   cold: load /chat/<General>, wait until the composer takes text;
//   warm: load it again in the same context (HTTP cache kept).
// Throttling (Chrome DevTools Protocol): 1.6 Mbps down, 750 kbps up, 150 ms
// round trip (Lighthouse's "slow 4G"), CPU 4x slower.
//
// Bytes are the encoded bytes on the wire (after Content-Encoding), from
// the DevTools network events, per kind: the HTML document, CSS, JS, Wasm,
// other. Medians of the runs; each run's value is printed too.
import * as os from "node:os";
import * as path from "node:path";
import { chromium } from "@playwright/test";
import { startServer } from "../lib/server.mjs";

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(arg("--runs", "5"));
const targetDir = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), ".cache", "chat-target");
const bin = arg("--bin", path.join(targetDir, "release", "chat"));

const NETWORK = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6 * 1024 * 1024) / 8,
  uploadThroughput: (750 * 1024) / 8,
};
const CPU_SLOWDOWN = 4;

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function kindOf(url, mime) {
  const p = new URL(url).pathname;
  if (p.endsWith(".wasm")) return "wasm";
  if (p.endsWith(".js")) return "js";
  if (p.endsWith(".css")) return "css";
  if ((mime || "").startsWith("text/html")) return "html";
  return "other";
}

/** Loads `url` in `page` with throttling; returns bytes per kind and ms to interactive. */
async function measuredLoad(page, url) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", NETWORK);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: CPU_SLOWDOWN });
  const requests = new Map();
  const bytes = { html: 0, css: 0, js: 0, wasm: 0, other: 0 };
  const cached = [];
  cdp.on("Network.responseReceived", (e) => {
    requests.set(e.requestId, { url: e.response.url, mime: e.response.mimeType, fromCache: e.response.fromDiskCache || e.response.fromMemoryCache });
  });
  cdp.on("Network.requestServedFromCache", (e) => {
    const r = requests.get(e.requestId);
    if (r) r.fromCache = true;
  });
  cdp.on("Network.loadingFinished", (e) => {
    const r = requests.get(e.requestId);
    if (!r || r.url.startsWith("ws")) return;
    if (r.fromCache) {
      cached.push(new URL(r.url).pathname);
      return;
    }
    bytes[kindOf(r.url, r.mime)] += e.encodedDataLength;
  });
  const start = Date.now();
  await page.goto(url, { waitUntil: "commit" });
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  // Interactive: hydrated and connected; the composer takes text.
  await page.locator('.chat-room[data-connection="connected"]').waitFor({ timeout: 120_000 });
  await box.fill("x", { timeout: 120_000 });
  await page.waitForFunction(() => document.activeElement !== null);
  const ms = Date.now() - start;
  await cdp.detach();
  return { ms, bytes, cached };
}

async function main() {
  const server = await startServer(bin, { CHAT_LOGIN_BURST: "1000" });
  const base = server.base;
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    // A session cookie and General's address, once.
    const login = await fetch(`${base}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "alice@example.com", password: "password" }),
    });
    const { token } = await login.json();
    const channels = await (await fetch(`${base}/chat/channels`, { headers: { authorization: `Bearer ${token}` } })).json();
    const general = channels.channels.find((c) => c.name === "General").id;
    const url = `${base}/chat/${general}`;

    const cold = [];
    const warm = [];
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext();
      await context.addCookies([{ name: "chat_session", value: token, url: base }]);
      const page = await context.newPage();
      cold.push(await measuredLoad(page, url));
      warm.push(await measuredLoad(page, url));
      await context.close();
    }

    const total = (b) => b.html + b.css + b.js + b.wasm + b.other;
    const row = (label, values, unit = "") =>
      console.log(
        `| ${label} | ${median(values).toLocaleString("en")}${unit} | ${values.map((v) => v.toLocaleString("en")).join(", ")} |`,
      );
    console.log(`\nFirst load of /chat/<id> (release binary ${bin}), ${runs} runs`);
    console.log(`network ${(NETWORK.downloadThroughput * 8 / 1024 / 1024).toFixed(1)} Mbps down, ${NETWORK.latency} ms round trip; CPU ${CPU_SLOWDOWN}x slower\n`);
    console.log("| measure | median | runs |");
    console.log("|---|---:|---|");
    for (const kind of ["html", "css", "js", "wasm", "other"]) {
      row(`cold: ${kind} bytes`, cold.map((r) => r.bytes[kind]));
    }
    row("cold: code bytes (JS + Wasm)", cold.map((r) => r.bytes.js + r.bytes.wasm));
    row("cold: all bytes", cold.map((r) => total(r.bytes)));
    row("cold: ms to interactive", cold.map((r) => r.ms));
    row("warm: code bytes (JS + Wasm)", warm.map((r) => r.bytes.js + r.bytes.wasm));
    row("warm: all bytes", warm.map((r) => total(r.bytes)));
    row("warm: ms to interactive", warm.map((r) => r.ms));
    const fromCache = [...new Set(warm.flatMap((r) => r.cached))].sort();
    console.log(`\nwarm loads took from the cache: ${fromCache.join(", ") || "nothing"}`);
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
