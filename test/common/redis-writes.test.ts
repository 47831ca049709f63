// common/redis.ts on a real redis-server: commands sent in one pass of the event loop leave in one socket
// write (what enableAutoPipelining gave, without its Pipeline per flush), one sent alone still goes out at once,
// and the batching follows the connection across a reconnect.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createRedis } from "../../common/redis.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { until } from "../helpers/ports.js";

let server: RedisServer;
let redis: Redis;

/** Counts the socket writes of the connection that is current when called (a write of N chunks counts once). */
function countWrites(r: Redis): { readonly n: number } {
  const socket = r.stream as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
  const counter = { n: 0 };
  for (const name of ["_write", "_writev"] as const) {
    const original = socket[name].bind(socket);
    socket[name] = (...a: unknown[]) => {
      counter.n++;
      original(...a);
    };
  }
  return counter;
}

beforeAll(async () => {
  server = await startRedis();
  redis = createRedis({ urls: [server.url], mode: "standalone" }) as Redis;
  await redis.ping();
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe("one socket write per event-loop pass", () => {
  it("sends 100 commands issued together in one write, and answers each", async () => {
    const writes = countWrites(redis);
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => redis.set(`w:${i}`, String(i)).then(() => redis.get(`w:${i}`))));
    // the 100 SETs went out together; each GET was sent from its own reply's callback, and those replies arrive in one read (one tick) too
    expect(replies).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    expect(writes.n).toBeGreaterThanOrEqual(2);
    expect(writes.n).toBeLessThan(10);
  });

  it("sends a command issued alone without waiting for another", async () => {
    const writes = countWrites(redis);
    for (let i = 0; i < 5; i++) expect(await redis.incr("w:alone")).toBe(i + 1);
    expect(writes.n).toBe(5);
  });

  it("keeps batching on the new connection after the old one was killed", async () => {
    const id = await redis.client("ID");
    const admin = createRedis({ urls: [server.url], mode: "standalone" }) as Redis;
    await admin.client("KILL", "ID", String(id));
    admin.disconnect();
    await until(async () => (await redis.ping().catch(() => null)) === "PONG");
    expect(await redis.client("ID")).not.toBe(id);
    const writes = countWrites(redis);
    const values = await Promise.all(Array.from({ length: 50 }, (_, i) => redis.echo(`e${i}`)));
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`));
    expect(writes.n).toBe(1);
  });
});
