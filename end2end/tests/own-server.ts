// A chat server of a test's own, for tests that restart it or need other
// limits than the shared server of playwright.config.ts: the same binary,
// site and settings (server-env.ts), a free loopback port, a fresh data
// directory (kept across restarts), demo data.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { serverBin, serverLaunch } from "./server-env";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class OwnServer {
  private proc: ChildProcess | null = null;
  private log = "";

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly extraEnv: Record<string, string>,
  ) {}

  get baseURL(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts a new server; `env` adds or overrides settings (CHAT_RATE_BURST, ...). */
  static async start(env: Record<string, string> = {}): Promise<OwnServer> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-e2e-own-"));
    const server = new OwnServer(await freePort(), dataDir, env);
    await server.resume();
    return server;
  }

  /** (Re)starts the process on the same port and data directory. */
  async resume(): Promise<void> {
    if (this.proc) throw new Error("already running");
    const { cwd, env } = serverLaunch(this.port, this.dataDir, { RUST_LOG: "warn", ...this.extraEnv });
    const proc = spawn(serverBin, [], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout!.on("data", (d) => (this.log += d));
    proc.stderr!.on("data", (d) => (this.log += d));
    this.proc = proc;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`server exited:\n${this.log}`);
      try {
        const res = await fetch(`${this.baseURL}/login`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server did not start within 30 s:\n${this.log}`);
  }

  /** Stops the process (SIGTERM: sockets get close 1001) and waits for it. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server for good and removes its data. */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
