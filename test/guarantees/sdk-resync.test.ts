// A node that hands the SDK a message after a hole (as a node does when it gives up filling a hole from the
// inbox): the SDK first asks for a replay from its position, and reports a gap only if the inbox cannot
// fill it. A scripted Socket.IO server stands in for the node, to produce the hole on demand.
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import { HeraldClient, type GapEvent, type HeraldMessage } from "../../client/index.js";

const EPOCH = "ep0";
const inbox = [1, 2, 3, 4, 5].map((n) => ({ id: `m${n}`, event: "message", data: { seq: n }, ts: 0, epoch: EPOCH, offset: `${n}-0`, prev: n === 1 ? "0-0" : `${n - 1}-0` }));

let http: HttpServer | undefined;
let io: Server | undefined;
let client: HeraldClient<{ seq: number }> | undefined;

/** A fake node: the first channel gets 1, 2 then 4 (a hole); later channels get `replay(since)`. */
async function fakeNode(replay: (since: { epoch: string; offset: string }) => { recovery: object; from: number }) {
  http = createServer((req, res) => {
    if (req.url !== "/v1/login") return;
    const { port } = http!.address() as AddressInfo;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ token: "t", expiresAt: new Date(Date.now() + 600_000).toISOString(), userId: "u", node: { id: "fake", url: `http://127.0.0.1:${port}`, path: "/socket.io" } }));
  });
  io = new Server(http);
  const handshakes: Array<{ since?: { epoch: string; offset: string } }> = [];
  io.on("connection", (socket) => {
    const auth = socket.handshake.auth as { since?: { epoch: string; offset: string } };
    handshakes.push(auth);
    socket.on("ack", (_p: unknown, done?: unknown) => typeof done === "function" && done());
    if (handshakes.length === 1) {
      for (const m of [inbox[0], inbox[1], inbox[3]]) socket.emit("message", m);
      return;
    }
    const r = replay(auth.since!);
    socket.emit("recovery", r.recovery);
    for (const m of inbox.slice(r.from - 1)) socket.emit("message", m);
  });
  await new Promise<void>((r) => http!.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, handshakes };
}

function run(url: string) {
  const seqs: number[] = [];
  const gaps: GapEvent[] = [];
  const c = new HeraldClient<{ seq: number }>({ url, credentials: () => ({ body: {} }), backoff: { initialMs: 20, maxMs: 100 } });
  c.on("message", (m: HeraldMessage<{ seq: number }>) => seqs.push(m.data.seq));
  c.on("gap", (g) => gaps.push(g));
  client = c.start();
  const until = (check: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out: seqs ${seqs} gaps ${gaps.length}`)), 10_000);
      const test = () => check() && (clearTimeout(t), c.off("message", test), c.off("gap", test), resolve());
      c.on("message", test).on("gap", test);
      test();
    });
  return { c, seqs, gaps, until };
}

afterEach(async () => {
  await client?.close();
  io?.close();
  http?.close();
});

describe("a hole in what a node sends", () => {
  it("is refilled by a replay from the position when the inbox still has the messages: no gap reported", async () => {
    const node = await fakeNode((since) => ({ recovery: { recovered: true, epoch: EPOCH }, from: Number(since.offset.split("-")[0]) + 1 }));
    const app = run(node.url);
    await app.until(() => app.seqs.length === 5);
    expect(app.seqs).toEqual([1, 2, 3, 4, 5]);
    expect(app.gaps).toEqual([]);
    expect(app.c.stats.resyncs).toBe(1);
    expect(node.handshakes[1]!.since).toEqual({ epoch: EPOCH, offset: "2-0" });
  });

  it("is reported once when the inbox cannot fill it", async () => {
    const node = await fakeNode(() => ({ recovery: { recovered: false, epoch: EPOCH, reason: "GAP" }, from: 4 }));
    const app = run(node.url);
    await app.until(() => app.seqs.length === 4);
    expect(app.seqs).toEqual([1, 2, 4, 5]);
    expect(app.gaps).toEqual([{ reason: "GAP", from: { epoch: EPOCH, offset: "2-0" }, epoch: EPOCH, detectedBy: "recovery" }]);
    expect(app.c.stats.resyncs).toBe(1);
  });
});
