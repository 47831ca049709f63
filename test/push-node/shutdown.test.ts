// SIGTERM spreads the clients' new logins over a window, as draining does, instead of all at once.
import { afterAll, describe, expect, it } from "vitest";
import { startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, login, type TestClient } from "../helpers/client.js";

let node: NodeProcess | undefined;
const open: TestClient[] = [];
afterAll(async () => {
  for (const c of open) c.close();
  await node?.stop();
});

describe("shutdown", () => {
  it("asks clients to log in again with delays spread below min(2 s, half the grace period)", async () => {
    node = await startNode({ HERALD_SHUTDOWN_GRACE_MS: "10000" });
    for (let i = 0; i < 30; i++) open.push(await connect(await login(node.url, { userId: `leaver-${i}` })));
    const delays = open.map(
      (c) =>
        new Promise<number>((resolve) =>
          c.socket.once("relogin", (r: { reason: string; delayMs: number }) => {
            expect(r.reason).toBe("shutdown");
            setTimeout(() => c.close(), r.delayMs); // leave as the SDK would, after the delay
            resolve(r.delayMs);
          }),
        ),
    );
    const stopAsked = Date.now();
    node.proc.kill("SIGTERM");
    const got = await Promise.all(delays);
    for (const d of got) expect(d >= 0 && d < 2000).toBe(true);
    expect(new Set(got).size).toBeGreaterThan(10);
    expect(Math.max(...got)).toBeGreaterThan(0);
    expect(await node.exited).toBe(0);
    // it left once its sockets had gone (the last within 2 s), not at the end of the 10 s grace period
    expect(Date.now() - stopAsked).toBeLessThan(8000);
  });

  it("a client that never leaves is closed when the grace period ends, and the node exits 0", async () => {
    const stubborn = await startNode({ HERALD_SHUTDOWN_GRACE_MS: "1500" });
    try {
      const c = await connect(await login(stubborn.url, { userId: "stays" }));
      open.push(c);
      const closedByNode = new Promise<string>((resolve) => c.socket.once("disconnect", (reason: string) => resolve(reason)));
      const stopAsked = Date.now();
      stubborn.proc.kill("SIGTERM");
      expect(await closedByNode).toBe("io server disconnect");
      expect(Date.now() - stopAsked).toBeGreaterThanOrEqual(1400);
      expect(await stubborn.exited).toBe(0);
    } finally {
      await stubborn.stop();
    }
  });
});
