// The reference server of the side-by-side benchmarks (docs/BENCHMARKS.md
// "Against a Node.js server"): what a team would otherwise write, a
// Node.js server with `ws` and `better-sqlite3`, speaking the subset of
// PROTOCOL.md the load generator uses. It is not part of the product.
//
// What it does, as a careful team would:
// - persist, then broadcast: each `message.send` is stored in its own
//   transaction (the channel's next seq, an idempotent clientId), then its
//   `message.new` is encoded once and sent to every socket of the channel;
// - SQLite in WAL mode with `synchronous=NORMAL`: a commit is not synced to
//   disk (the WAL is synced at checkpoints), so a power cut can lose the
//   last commits. Ours syncs every commit (`synchronous=FULL`).
// - HS256 JWTs (the host app's tokens), membership from `tablo_access`,
//   `presence.state` on join and `presence.update` to the others.
//
// Started like the chat binary by the load generator: LEPTOS_SITE_ADDR
// (host:port), CHAT_DATA_DIR, JWT_SECRET, CHAT_ADMIN_KEY; other variables
// are ignored.
"use strict";

const crypto = require("node:crypto");
const http = require("node:http");
const path = require("node:path");
const Database = require("better-sqlite3");
const { WebSocketServer } = require("ws");

const [host, port] = (process.env.LEPTOS_SITE_ADDR || "127.0.0.1:3000").split(":");
const dataDir = process.env.CHAT_DATA_DIR || ".";
const jwtSecret = process.env.JWT_SECRET || "";
const adminKey = process.env.CHAT_ADMIN_KEY || "";
const MAX_TEXT_CHARS = 4000;

const db = new Database(path.join(dataDir, "reference.db"));
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.exec(`
  CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, email TEXT, display_name TEXT);
  CREATE TABLE IF NOT EXISTS tablos (id TEXT PRIMARY KEY, name TEXT, last_seq INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE IF NOT EXISTS tablo_access (tablo_id TEXT, user_id TEXT, is_active INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (tablo_id, user_id));
  CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, seq INTEGER NOT NULL,
    user_id TEXT NOT NULL, client_id TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL,
    UNIQUE (channel_id, user_id, client_id), UNIQUE (channel_id, seq));
`);

const q = {
  upsertUser: db.prepare(
    "INSERT INTO users (id, email, display_name) VALUES (?, ?, ?) " +
      "ON CONFLICT (id) DO UPDATE SET email = excluded.email, display_name = excluded.display_name",
  ),
  upsertTablo: db.prepare(
    "INSERT INTO tablos (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
  ),
  grant: db.prepare(
    "INSERT INTO tablo_access (tablo_id, user_id, is_active) VALUES (?, ?, 1) " +
      "ON CONFLICT (tablo_id, user_id) DO UPDATE SET is_active = 1",
  ),
  member: db.prepare("SELECT 1 FROM tablo_access WHERE tablo_id = ? AND user_id = ? AND is_active = 1"),
  earlier: db.prepare(
    "SELECT id, seq, text, created_at FROM messages WHERE channel_id = ? AND user_id = ? AND client_id = ?",
  ),
  nextSeq: db.prepare("UPDATE tablos SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq"),
  insert: db.prepare(
    "INSERT INTO messages (id, channel_id, seq, user_id, client_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  ),
};

/** Stores a message (or finds the one stored under its clientId). */
const store = db.transaction((channelId, userId, clientId, text) => {
  const earlier = q.earlier.get(channelId, userId, clientId);
  if (earlier) return { ...earlier, duplicate: true };
  const { last_seq: seq } = q.nextSeq.get(channelId);
  const id = crypto.randomUUID();
  const createdAt = new Date().toISOString();
  q.insert.run(id, channelId, seq, userId, clientId, text, createdAt);
  return { id, seq, text, created_at: createdAt, duplicate: false };
});

/** The user id of a valid HS256 token, or null. */
function verify(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const expected = crypto.createHmac("sha256", jwtSecret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], "base64url");
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (header.alg !== "HS256") return null;
    if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) return null;
    return typeof claims.sub === "string" ? claims.sub : null;
  } catch {
    return null;
  }
}

function bearer(req) {
  const auth = req.headers.authorization || "";
  return auth.startsWith("Bearer ") ? auth.slice(7) : null;
}

function answer(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function readJson(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      if (chunks.length === 0) return resolve({});
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        resolve(null);
      }
    });
  });
}

const server = http.createServer(async (req, res) => {
  const url = req.url.split("?")[0];
  if (req.method === "GET" && (url === "/readyz" || url === "/healthz")) return answer(res, 200, { ok: true });
  const admin = url.match(/^\/admin\/(users|tablos)\/([0-9a-f-]{36})(?:\/members\/([0-9a-f-]{36}))?$/);
  if (req.method === "PUT" && admin) {
    if (bearer(req) !== adminKey || adminKey === "") return answer(res, 401, { error: "admin key" });
    const body = await readJson(req);
    if (body === null) return answer(res, 400, { error: "bad JSON" });
    const [, kind, id, member] = admin;
    if (kind === "users" && !member) q.upsertUser.run(id, body.email || "", body.display_name || "");
    else if (kind === "tablos" && !member) q.upsertTablo.run(id, body.name || "");
    else if (kind === "tablos") q.grant.run(id, member);
    else return answer(res, 404, { error: "not found" });
    return answer(res, 200, { ok: true });
  }
  answer(res, 404, { error: "not found" });
});

/** channel id -> Set of sockets; each socket carries its user and room. */
const rooms = new Map();
const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

server.on("upgrade", (req, socket, head) => {
  const m = req.url.split("?")[0].match(/^\/chat\/ws\/([0-9a-f-]{36})$/);
  const token = bearer(req);
  const userId = token && verify(token);
  if (!m || !userId) {
    socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  const channelId = m[1];
  if (!q.member.get(channelId, userId)) {
    socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => join(ws, channelId, userId));
});

function broadcast(room, json) {
  for (const peer of room) if (peer.readyState === 1) peer.send(json);
}

function join(ws, channelId, userId) {
  let room = rooms.get(channelId);
  if (!room) rooms.set(channelId, (room = new Set()));
  const online = new Set();
  for (const peer of room) online.add(peer.userId);
  const first = !online.has(userId);
  ws.userId = userId;
  room.add(ws);
  online.add(userId);
  ws.send(JSON.stringify({ type: "presence.state", userIds: [...online] }));
  if (first) {
    const json = JSON.stringify({ type: "presence.update", userId, status: "online" });
    for (const peer of room) if (peer !== ws && peer.readyState === 1) peer.send(json);
  }
  ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    let frame;
    try {
      frame = JSON.parse(data.toString("utf8"));
    } catch {
      return ws.send(JSON.stringify({ type: "error", code: "PARSE_ERROR", message: "invalid JSON" }));
    }
    if (frame.type !== "message.send") return;
    const clientId = frame.clientId;
    const text = typeof frame.text === "string" ? frame.text.trim() : "";
    if (typeof clientId !== "string" || clientId === "") {
      return ws.send(JSON.stringify({ type: "error", code: "PARSE_ERROR", message: "clientId required" }));
    }
    if (text === "" || [...text].length > MAX_TEXT_CHARS) {
      return ws.send(JSON.stringify({ type: "error", code: "EMPTY_MESSAGE", clientId, message: "bad text" }));
    }
    let stored;
    try {
      stored = store(channelId, userId, clientId, text);
    } catch (e) {
      return ws.send(JSON.stringify({ type: "error", code: "PERSIST_FAILED", clientId, message: String(e) }));
    }
    const json = JSON.stringify({
      type: "message.new",
      id: stored.id,
      channelId,
      seq: stored.seq,
      userId,
      text: stored.text,
      createdAt: stored.created_at,
      clientId,
    });
    if (stored.duplicate) ws.send(json);
    else broadcast(room, json);
  });
  ws.on("close", () => {
    room.delete(ws);
    let still = false;
    for (const peer of room) if (peer.userId === userId) still = true;
    if (!still) broadcast(room, JSON.stringify({ type: "presence.update", userId, status: "offline" }));
    if (room.size === 0) rooms.delete(channelId);
  });
}

server.listen(Number(port), host);
process.on("SIGTERM", () => {
  server.close();
  for (const ws of wss.clients) ws.terminate();
  db.close();
  process.exit(0);
});
