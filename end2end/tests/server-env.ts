// How the browser tests start the chat server: which binary, from which
// directory, with which settings. Shared by playwright.config.ts (the server
// all tests share) and own-server.ts (servers of a test's own).
//
// Two forms:
// - development (default): the debug binary of `cargo leptos build`, reading
//   the site (Wasm, JS, CSS) from the directory cargo-leptos wrote;
// - release (CHAT_E2E_RELEASE=1): the single binary that scripts/release.sh
//   builds, with the site compiled in, started as users deploy it: alone in
//   an empty directory, without any LEPTOS_* setting but the address.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..");
const targetDir =
  process.env.CARGO_TARGET_DIR || path.join(os.homedir(), ".cache", "chat-target");

/** Whether the tests run against the release binary (its site embedded). */
export const releaseMode = process.env.CHAT_E2E_RELEASE === "1";

/** The server binary. CHAT_E2E_BIN overrides it. */
export const serverBin =
  process.env.CHAT_E2E_BIN ||
  path.join(targetDir, releaseMode ? "release" : "debug", "chat");

// Where cargo-leptos put the site (pkg/ with the Wasm and JS, plus assets).
// With `site-root = "target/site"` in Cargo.toml that is <repo>/target/site
// even when CARGO_TARGET_DIR points elsewhere; a site-root that starts with
// "CARGO_TARGET_DIR/" lands in the target directory. CHAT_E2E_SITE_ROOT
// overrides the search.
function findSiteRoot(): string {
  if (process.env.CHAT_E2E_SITE_ROOT) return process.env.CHAT_E2E_SITE_ROOT;
  const candidates = [path.join(repoRoot, "target", "site"), path.join(targetDir, "site")];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, "pkg"))) return dir;
  }
  return candidates[0];
}

/** Fails early, with what to build, when the binary (or site) is missing. */
export function checkBuilt(): void {
  if (!fs.existsSync(serverBin)) {
    const how = releaseMode ? "bash scripts/release.sh" : "cargo leptos build";
    throw new Error(
      `Server binary not found at ${serverBin}. Build it first: ${how} ` +
        `(with CARGO_TARGET_DIR=${targetDir}), or set CHAT_E2E_BIN.`,
    );
  }
  if (!releaseMode && !fs.existsSync(path.join(findSiteRoot(), "pkg"))) {
    throw new Error(
      `Site not found at ${findSiteRoot()}/pkg. Build it first: cargo leptos build, or set CHAT_E2E_SITE_ROOT.`,
    );
  }
}

/** The JWT secret the servers of the browser tests sign with. */
export const TEST_JWT_SECRET = "e2e-test-secret-0123456789abcdef0123456789";

/**
 * The working directory and environment of a server on `port` with data in
 * `dataDir`; `extra` adds or overrides settings.
 */
export function serverLaunch(
  port: number,
  dataDir: string,
  extra: Record<string, string> = {},
): { cwd: string; env: Record<string, string> } {
  const baseURL = `http://127.0.0.1:${port}`;
  // Our environment, minus settings that would point the server at another
  // database or identity provider, or another site.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (["DATABASE_URL", "JWT_ISSUER", "CHAT_CONFIG"].includes(k)) continue;
    if (k.startsWith("LEPTOS_")) continue;
    env[k] = v;
  }
  let cwd = repoRoot;
  if (releaseMode) {
    // As deployed: nothing beside the binary, not even a Leptos.toml. One
    // empty directory per run (the config is evaluated by every worker).
    if (!process.env.CHAT_E2E_CWD) {
      process.env.CHAT_E2E_CWD = fs.mkdtempSync(path.join(os.tmpdir(), "chat-e2e-cwd-"));
    }
    cwd = process.env.CHAT_E2E_CWD;
  } else {
    env.LEPTOS_SITE_ROOT = findSiteRoot();
    env.LEPTOS_SITE_PKG_DIR = "pkg";
    // PROD: no live-reload script (it would talk to cargo-leptos' reload port).
    env.LEPTOS_ENV = "PROD";
  }
  Object.assign(env, {
    LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
    CHAT_DATA_DIR: dataDir,
    CHAT_DEMO_DATA: "true",
    JWT_SECRET: TEST_JWT_SECRET,
    // The browser's origin for the WebSocket origin check.
    ALLOWED_ORIGINS: baseURL,
    // Every test logs the demo users in again; the per-e-mail login limit
    // (10 a minute by default) is for attackers, not for this suite.
    CHAT_LOGIN_BURST: "1000",
    RUST_LOG: process.env.RUST_LOG || "info",
    ...extra,
  });
  return { cwd, env };
}
