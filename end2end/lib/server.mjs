// A chat server process for the Node scripts (the seed client's test, the
// first-load benchmark): a free loopback port, a working directory and
// data of its own, stopped with SIGTERM. (Playwright's servers are started
// by playwright.config.ts and tests/own-server.ts.)
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `bin` in a new empty directory with demo data and `env` (added to
 * a minimal environment) and waits until it answers `/healthz`. Returns its
 * base URL and `stop()`, which ends it and removes its directory.
 */
export async function startServer(bin, env = {}) {
  if (!fs.existsSync(bin)) throw new Error(`no server binary at ${bin}: build it first`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "chat-node-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let log = "";
  const proc = spawn(bin, [], {
    cwd: work,
    env: {
      PATH: process.env.PATH,
      HOME: work,
      CHAT_DATA_DIR: path.join(work, "data"),
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      CHAT_DEMO_DATA: "true",
      RUST_LOG: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout.on("data", (d) => (log += d));
  proc.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited:\n${log}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not start within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}
