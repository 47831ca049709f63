// The plain cluster's node: Socket.IO 4.8 with @socket.io/redis-streams-adapter, each user in a room named
// after its user id, `io.to(user).emit("message", data)` for each published message. No inbox, no presence,
// no ordering, no tokens: the peer Herald is compared with. Its clients make one HTTP request first (a fake
// login that names the node to use), as Herald's clients log in.
//   env: PORT, REDIS_URL, PLAIN_NODES (every node's URL, comma-separated, same order on each), PLAIN_BACKLOG
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { Redis } from "ioredis";

const port = Number(process.env.PORT);
const nodes = (process.env.PLAIN_NODES ?? "").split(",").filter(Boolean);
const backlog = Number(process.env.PLAIN_BACKLOG ?? 511);
const redis = new Redis(process.env.REDIS_URL!);

const http = createServer();
const io = new Server(http, { serveClient: false, adapter: createAdapter(redis) });
// Socket.IO's own memory tuning (Herald does the same): do not keep each socket's upgrade request.
io.engine.on("connection", (raw: { request: unknown }) => {
  raw.request = null;
});
io.on("connection", (socket) => {
  const user = (socket.handshake.auth as { userId?: unknown })?.userId;
  if (typeof user !== "string" || !user) return void socket.disconnect(true);
  void socket.join(user);
});

/** FNV-1a: the node a user belongs to. */
function nodeFor(user: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < user.length; i++) h = Math.imul(h ^ user.charCodeAt(i), 0x01000193);
  return nodes[(h >>> 0) % nodes.length]!;
}

function readBody(req: IncomingMessage): Promise<any> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (err) {
        reject(err);
      }
    });
    req.on("error", reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

http.on("request", async (req, res) => {
  if (req.url?.startsWith("/socket.io/")) return;
  try {
    if (req.method === "POST" && req.url === "/login") {
      const { userId } = await readBody(req);
      if (typeof userId !== "string" || !userId) return reply(res, 400, { error: "userId" });
      return reply(res, 200, { userId, node: { url: nodeFor(userId), path: "/socket.io" } });
    }
    if (req.method === "POST" && req.url === "/publish") {
      const { to, data } = await readBody(req);
      if (typeof to !== "string" || !to) return reply(res, 400, { error: "to" });
      io.to(to).emit("message", data);
      return reply(res, 202, { ok: true });
    }
    if (req.method === "GET" && req.url === "/healthz") return reply(res, 200, { status: "ok" });
    reply(res, 404, { error: "not found" });
  } catch {
    reply(res, 400, { error: "bad request" });
  }
});

http.listen({ port, host: "127.0.0.1", backlog }, () => process.stderr.write(`plain node listening on ${port} (backlog ${backlog})\n`));
for (const sig of ["SIGTERM", "SIGINT"] as const)
  process.once(sig, () => {
    io.close();
    redis.disconnect();
    process.exit(0);
  });
