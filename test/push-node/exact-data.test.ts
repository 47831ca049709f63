// Exact data on a real node: what a publisher sends is what clients receive; too-deep JSON is a 400.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, login, postJson, publish, type TestClient } from "../helpers/client.js";

let node: NodeProcess;
const open: TestClient[] = [];
beforeAll(async () => {
  node = await startNode({});
});
afterAll(async () => {
  for (const c of open) c.close();
  await node?.stop();
});
const pub = (body: unknown) => publish(node.url, body, "dev-publish-key");
const deep = (n: number) => `${"[".repeat(n)}1${"]".repeat(n)}`;

describe("depth limit", () => {
  it("answers 400 JSON_TOO_DEEP for data nested 200,000 deep, never a 5xx; the node keeps working", async () => {
    const r = await pub(`{"to":["deep"],"data":${deep(200_000)}}`);
    expect([r.status, r.body.error.code]).toEqual([400, "JSON_TOO_DEEP"]);
    const batch = await pub(`{"messages":[{"to":["deep"],"data":${deep(100)}}]}`);
    expect([batch.status, batch.body.error.code]).toEqual([400, "JSON_TOO_DEEP"]);
    const l = await postJson(`${node.url}/v1/login`, `{"userId":"deep","x":${deep(30_000)}}`);
    expect([l.status, l.body.error.code]).toEqual([400, "JSON_TOO_DEEP"]);
    const c = await connect(await login(node.url, { userId: "deep" }));
    open.push(c);
    const ok = await pub(`{"to":["deep"],"data":${deep(60)}}`);
    expect(ok.status).toBe(202);
    expect(JSON.stringify((await c.waitFor(1))[0].data)).toBe(deep(60));
    expect(await (await fetch(`${node.url}/metrics`)).text()).toMatch(/herald_limit_refusals_total\{limit="data_depth"\} 3/);
  });
});
