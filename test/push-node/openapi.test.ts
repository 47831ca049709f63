// The OpenAPI document: generated from the zod schemas the routes use, checked in and current, served
// at /openapi.json, and real answers of a real embedded node validate against it (ajv, JSON Schema 2020-12).
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../../push-node/http/openapi.js";
import { startNode, ROOT, type NodeProcess } from "../helpers/push-node.js";
import { connect, login, postJson, publish } from "../helpers/client.js";

let node: NodeProcess;
const doc = openApiDocument() as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: "https://herald.invalid/openapi.json", components: doc.components });
function conforms(schema: string, body: unknown): void {
  const validate = ajv.compile({ $ref: `https://herald.invalid/openapi.json#/components/schemas/${schema}` });
  const ok = validate(body);
  expect(ok, `${schema}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body)}`).toBe(true);
}

beforeAll(async () => {
  node = await startNode({ HERALD_NODE_ID: "openapi", HERALD_TOKEN_SECRET: "openapi-test-token-secret-0123456789abcdef" });
});
afterAll(async () => {
  await node?.stop();
});

describe("OpenAPI document", () => {
  it("docs/openapi.json is current (regenerate with `npm run openapi`)", () => {
    expect(JSON.parse(readFileSync(`${ROOT}docs/openapi.json`, "utf8"))).toEqual(doc);
    expect(doc.openapi).toBe("3.1.0");
  });

  it("every $ref points at a schema the document has", () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const r of refs) expect(Object.keys(doc.components.schemas)).toContain(r.replace("#/components/schemas/", ""));
  });

  it("is served at /openapi.json", async () => {
    const r = await fetch(`${node.url}/openapi.json`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual(doc);
  });

  it("real answers validate against it", async () => {
    const l = await login(node.url, { userId: "olga" });
    conforms("LoginResponse", l);
    conforms("Error", (await postJson(`${node.url}/v1/login`, {})).body);
    const c = await connect(l);
    const one = await publish(node.url, { to: ["olga"], data: { deep: [1, "two", null, { x: true }] } }, "dev-publish-key");
    expect(one.status).toBe(202);
    conforms("PublishAccepted", one.body);
    await c.waitFor(1);
    const batch = await publish(node.url, { messages: [{ to: ["olga"], data: 1 }, { to: [], data: 2 }] }, "dev-publish-key");
    expect(batch.status).toBe(202);
    conforms("PublishBatchResponse", batch.body);
    conforms("Error", (await publish(node.url, { to: ["olga"], data: 1 }, "wrong-key")).body);
    const status = await fetch(`${node.url}/v1/status`);
    conforms("Status", await status.json());
    conforms("Health", await (await fetch(`${node.url}/healthz`)).json());
    conforms("Readiness", await (await fetch(`${node.url}/readyz`)).json());
    const d = await postJson(`${node.url}/v1/disconnect`, { users: ["olga"] }, { authorization: "Bearer dev-publish-key" });
    expect(d.status).toBe(202);
    conforms("DisconnectResponse", d.body);
    c.close();
  });

  it("requests the routes refuse are refused by the document too", () => {
    const bad = ajv.compile({ $ref: "https://herald.invalid/openapi.json#/components/schemas/PublishRequest" });
    expect(bad({ to: [], data: 1 })).toBe(false);
    expect(bad({ to: ["a"], data: 1, extra: true })).toBe(false);
    expect(bad({ to: ["a"], data: { ok: [1] }, event: "e.v" })).toBe(true);
  });
});
