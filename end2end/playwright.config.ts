import { defineConfig } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkBuilt, releaseMode, serverBin, serverLaunch } from "./tests/server-env";

// Browser tests against the real server binary, built beforehand with
// `cargo leptos build` (debug), or with CHAT_E2E_RELEASE=1 against the
// release binary of scripts/release.sh (tests/server-env.ts). Playwright
// starts the binary itself (webServer below) on a free port with a fresh,
// empty data directory and demo data, and waits until it answers.
//
// This file is evaluated by the runner and again by every worker process, so
// the chosen port and data directory are stored in process.env the first time
// (workers inherit the runner's environment) and reused afterwards.

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

const port = Number(process.env.CHAT_E2E_PORT);
const baseURL = `http://127.0.0.1:${port}`;
checkBuilt();
const launch = serverLaunch(port, process.env.CHAT_E2E_DATA_DIR!);

export default defineConfig({
  testDir: "./tests",
  // One worker: 2 cores, and the server is shared by all tests.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [
    ["list"],
    ["html", { open: "never", outputFolder: releaseMode ? "playwright-report-release" : "playwright-report" }],
  ],
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
  // The release run's results and report go beside the development run's.
  outputDir: releaseMode ? "test-results-release" : "test-results",
  webServer: {
    command: JSON.stringify(serverBin),
    cwd: launch.cwd,
    url: `${baseURL}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: launch.env,
  },
});
