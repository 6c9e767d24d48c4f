import { defineConfig } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// Browser tests against the real server binary, built beforehand with
// `cargo leptos build` (debug). Playwright starts the binary itself (webServer
// below) on a free port with a fresh, empty data directory and demo data, and
// waits until it answers.
//
// This file is evaluated by the runner and again by every worker process, so
// the chosen port and data directory are stored in process.env the first time
// (workers inherit the runner's environment) and reused afterwards.

const repoRoot = path.resolve(__dirname, "..");
const targetDir =
  process.env.CARGO_TARGET_DIR ||
  path.join(os.homedir(), ".cache", "chat-target");

// The server binary. CHAT_E2E_BIN overrides it (for example a release build).
const serverBin =
  process.env.CHAT_E2E_BIN || path.join(targetDir, "debug", "chat");

// Where cargo-leptos put the site (pkg/ with the Wasm and JS, plus assets).
// With `site-root = "target/site"` in Cargo.toml that is <repo>/target/site
// even when CARGO_TARGET_DIR points elsewhere; a site-root that starts with
// "CARGO_TARGET_DIR/" lands in the target directory. CHAT_E2E_SITE_ROOT
// overrides the search.
function findSiteRoot(): string {
  if (process.env.CHAT_E2E_SITE_ROOT) return process.env.CHAT_E2E_SITE_ROOT;
  const candidates = [
    path.join(repoRoot, "target", "site"),
    path.join(targetDir, "site"),
  ];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, "pkg", "chat.wasm"))) return dir;
  }
  return candidates[0];
}

function freePort(): number {
  // Synchronous, because the config cannot await: ask the OS for a free port
  // in a child process.
  const out = execFileSync(process.execPath, [
    "-e",
    'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); });',
  ]);
  return Number(out.toString().trim());
}

if (!process.env.CHAT_E2E_PORT) {
  process.env.CHAT_E2E_PORT = String(freePort());
}
if (!process.env.CHAT_E2E_DATA_DIR) {
  process.env.CHAT_E2E_DATA_DIR = fs.mkdtempSync(
    path.join(os.tmpdir(), "chat-e2e-"),
  );
}
if (!process.env.CHAT_E2E_SITE_ROOT) {
  process.env.CHAT_E2E_SITE_ROOT = findSiteRoot();
}

const port = process.env.CHAT_E2E_PORT;
const baseURL = `http://127.0.0.1:${port}`;
const siteRoot = process.env.CHAT_E2E_SITE_ROOT;

// The server's environment: ours, minus settings that would point it at
// another database or identity provider, plus the test settings below.
const serverEnv: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) {
  if (v === undefined) continue;
  if (["DATABASE_URL", "JWT_ISSUER", "CHAT_CONFIG"].includes(k)) continue;
  serverEnv[k] = v;
}

if (!fs.existsSync(serverBin)) {
  throw new Error(
    `Server binary not found at ${serverBin}. Build it first: cargo leptos build ` +
      `(with CARGO_TARGET_DIR=${targetDir}), or set CHAT_E2E_BIN.`,
  );
}
if (!fs.existsSync(path.join(siteRoot, "pkg"))) {
  throw new Error(
    `Site not found at ${siteRoot}/pkg. Build it first: cargo leptos build, or set CHAT_E2E_SITE_ROOT.`,
  );
}

export default defineConfig({
  testDir: "./tests",
  // One worker: 2 cores, and the server is shared by all tests.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["html", { open: "never" }]],
  use: {
    baseURL,
    browserName: "chromium",
    headless: true,
    launchOptions: {
      // Debian's Chromium; Playwright's own browser download is not possible here.
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  webServer: {
    command: JSON.stringify(serverBin),
    cwd: repoRoot,
    url: `${baseURL}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      ...serverEnv,
      LEPTOS_OUTPUT_NAME: "chat",
      LEPTOS_SITE_ROOT: siteRoot,
      LEPTOS_SITE_PKG_DIR: "pkg",
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      // PROD: no live-reload script (it would talk to cargo-leptos' reload port).
      LEPTOS_ENV: "PROD",
      CHAT_DATA_DIR: process.env.CHAT_E2E_DATA_DIR!,
      CHAT_DEMO_DATA: "true",
      JWT_SECRET: "e2e-test-secret-0123456789abcdef0123456789",
      // The browser's origin for the WebSocket origin check.
      ALLOWED_ORIGINS: baseURL,
      // Every test logs the demo users in again; the per-e-mail login limit
      // (10 a minute by default) is for attackers, not for this suite.
      CHAT_LOGIN_BURST: "1000",
      RUST_LOG: process.env.RUST_LOG || "info",
    },
  },
});
