// Fuzz suite (fast-check): login, publish and disconnect bodies, the Socket.IO handshake and events
// against a real node process, and the affinity document reader and configuration loader in process.
// Every case must end in a documented answer (docs/protocol.md), within a time limit, without the node
// crashing (an unhandled rejection would end it); afterwards the node still serves a well-behaved client.
// FUZZ_RUNS=10 multiplies the number of cases (the default keeps the suite near 30 s on a quiet machine).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import WebSocket from "ws";
import { SignJWT } from "jose";
import { startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, login, postJson, publish } from "../helpers/client.js";
import { parseAffinityDocument } from "../../protocol/affinity-document.js";
import { CONFIG_VARIABLES, ConfigError, loadConfig } from "../../push-node/config.js";

const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1));
const runs = (n: number) => Math.round(n * RUNS);
const SECRET = "fuzz-token-secret-0123456789abcdef0123456789";
const KEY = "fuzz-publish-key";

// The documented error codes (docs/protocol.md).
const LOGIN_CODES = ["INVALID_LOGIN", "LOGIN_REFUSED", "LOGIN_BACKEND_UNAVAILABLE", "NO_NODE_AVAILABLE", "NODE_UNAVAILABLE", "UNSUPPORTED_MEDIA_TYPE", "INVALID_JSON", "INVALID_BODY", "BODY_TOO_LARGE", "RATE_LIMITED", "JSON_TOO_DEEP"];
const PUBLISH_CODES = ["UNAUTHORIZED", "INVALID_MESSAGE", "INVALID_BODY", "INVALID_JSON", "PAYLOAD_TOO_LARGE", "BATCH_TOO_LARGE", "BODY_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "RATE_LIMITED", "IDEMPOTENCY_KEY_REUSED", "JSON_TOO_DEEP"];
const HANDSHAKE_CODES = ["TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_EXPIRED", "WRONG_NODE", "NODE_UNAVAILABLE", "INVALID_HANDSHAKE", "TOO_MANY_SOCKETS"];

let node: NodeProcess;
beforeAll(async () => {
  node = await startNode({
    HERALD_NODE_ID: "fuzz",
    HERALD_TOKEN_SECRET: SECRET,
    HERALD_PUBLISH_KEYS: KEY,
    HERALD_MAX_BODY_BYTES: "65536",
    HERALD_LOGIN_PER_IP_PER_MINUTE: "0",
    HERALD_LOGIN_PER_USER_PER_MINUTE: "0",
    LOG_LEVEL: "warn",
  });
});
afterAll(async () => {
  if (node && node.proc.exitCode !== null) console.error(`the fuzzed node exited (${node.proc.exitCode}):\n${node.logs()}`);
  await node?.stop();
});

function alive(): void {
  expect(node.proc.exitCode, node.logs()).toBeNull();
}

/** An error answer is documented: a JSON body {error: {code, message}} with a known code and a 4xx status. */
function documentedError(r: { status: number; body: any }, codes: string[]): void {
  expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
  expect(codes, JSON.stringify(r.body)).toContain(r.body?.error?.code);
  expect(typeof r.body.error.message).toBe("string");
}

const text = fc.string({ maxLength: 40 });
const junkJson = fc.jsonValue({ maxDepth: 4 });
/** A body: arbitrary JSON, a mangled JSON text, or an object shaped like what `shape` would accept. */
const body = (shape: fc.Arbitrary<unknown>) => fc.oneof(shape.map((v) => JSON.stringify(v)), junkJson.map((v) => JSON.stringify(v)), fc.string({ maxLength: 60 }));
const httpCase = (path: string, raw: string, headers: Record<string, string>) => postJson(`${node.url}${path}`, raw, { ...headers });

describe("fuzz: HTTP bodies", () => {
  it("login answers 200 or a documented error for any body", async () => {
    const shape = fc.record({ userId: fc.oneof(text, junkJson), ticket: fc.oneof(text, junkJson) }, { requiredKeys: [] });
    const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "");
    await fc.assert(
      fc.asyncProperty(body(shape), contentType, async (raw, type) => {
        const r = await httpCase("/v1/login", raw, { "content-type": type });
        if (r.status === 200) expect(typeof r.body.token).toBe("string");
        else documentedError(r, LOGIN_CODES);
      }),
      { numRuns: runs(1000) },
    );
    alive();
  });

  it("publish answers 202 or documented errors for any body (single or batch)", async () => {
    const user = fc.oneof(fc.constantFrom("fz-a", "fz-b", "constructor", "__proto__", "toString"), text);
    const message = fc.record(
      {
        to: fc.oneof(fc.array(user, { maxLength: 4 }), junkJson),
        data: fc.oneof(junkJson, fc.jsonValue({ maxDepth: 12 })),
        event: fc.oneof(fc.constantFrom("message", "order.shipped", "a:b-c_d"), text, junkJson),
        idempotencyKey: fc.oneof(fc.constantFrom("k1", "k2", "k3"), text, junkJson),
      },
      { requiredKeys: [] },
    );
    const batch = fc.record({ messages: fc.oneof(fc.array(message, { maxLength: 5 }), junkJson) });
    const auth = fc.constantFrom(`Bearer ${KEY}`, `Bearer ${KEY}`, `Bearer ${KEY}`, "Bearer nope", "", KEY);
    await fc.assert(
      fc.asyncProperty(fc.oneof(body(message), body(batch)), auth, async (raw, authorization) => {
        const r = await httpCase("/v1/publish", raw, authorization ? { authorization } : {});
        if (r.status === 202) {
          expect(typeof (r.body.id ?? r.body.accepted)).not.toBe("undefined");
          for (const x of r.body.results ?? []) if (x.error) expect(PUBLISH_CODES).toContain(x.error.code);
        } else if (r.body?.results) {
          expect(r.status).toBe(400);
          for (const x of r.body.results) expect(PUBLISH_CODES).toContain(x.error.code);
        } else documentedError(r, PUBLISH_CODES);
      }),
      { numRuns: runs(1500) },
    );
    alive();
  });

  it("disconnect answers 202 or a documented error for any body", async () => {
    const shape = fc.record({ users: fc.oneof(fc.array(text, { maxLength: 5 }), junkJson) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(body(shape), async (raw) => {
        const r = await httpCase("/v1/disconnect", raw, { authorization: `Bearer ${KEY}` });
        if (r.status === 202) expect(typeof r.body.users).toBe("number");
        else documentedError(r, PUBLISH_CODES);
      }),
      { numRuns: runs(500) },
    );
    alive();
  });
});

/**
 * A raw Engine.IO/Socket.IO v4 connection over a WebSocket, to send any handshake or packet and read
 * what the server answers. Reconnects by itself when the server closes the connection.
 */
class RawChannel {
  private ws: WebSocket | null = null;
  private waiting: { accept: (p: string) => boolean; done: (packet: string | null) => void } | null = null;
  /** Bumped on each new connection; `left` is set when the server closed our namespace socket ("41"). */
  generation = 0;
  left = false;

  private async open(): Promise<WebSocket> {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return this.ws;
    const ws = new WebSocket(`${node.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
    ws.on("message", (data) => {
      const p = data.toString();
      if (p === "2") return void ws.send("3"); // engine ping
      if (p === "41") this.left = true;
      if (this.waiting?.accept(p)) {
        const w = this.waiting;
        this.waiting = null;
        w.done(p);
      }
    });
    ws.on("close", () => {
      const w = this.waiting;
      this.waiting = null;
      w?.done(null);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    this.ws = ws;
    this.generation++;
    this.left = false;
    return ws;
  }

  /**
   * Sends a packet; with `accept`, resolves with the next server packet it accepts (null when the server
   * closed the connection), failing after timeoutMs: a hang is a failure.
   */
  async send(packet: string, accept?: (p: string) => boolean, timeoutMs = 5000): Promise<string | null> {
    const ws = await this.open();
    const answer = accept
      ? new Promise<string | null>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms to ${packet.slice(0, 200)}`)), timeoutMs);
          this.waiting = { accept, done: (p) => (clearTimeout(t), resolve(p)) };
        })
      : Promise.resolve(null);
    ws.send(packet);
    return answer;
  }

  close(): void {
    this.ws?.terminate();
  }
}

/** The server's answer to a namespace CONNECT: "40{sid}" or "44{message, data}". */
const handshakeAnswer = (p: string) => p.startsWith("40") || p.startsWith("44");

describe("fuzz: Socket.IO", () => {
  it("answers any handshake auth with connect or a connect_error carrying a documented code", async () => {
    const raw = new RawChannel();
    const good = await login(node.url, { userId: "fz-hand" });
    const now = Math.floor(Date.now() / 1000);
    const claims = fc.record(
      {
        sub: fc.oneof(fc.constant("fz-hand"), text, junkJson),
        node: fc.oneof(fc.constantFrom("fuzz", "other"), junkJson),
        iss: fc.constantFrom("herald", "x"),
        aud: fc.constantFrom("herald-channel", "x"),
        exp: fc.oneof(fc.constant(now + 600), fc.constant(now - 600), junkJson),
      },
      { requiredKeys: [] },
    );
    const signed = claims.map((c) => ({ c }));
    const token = fc.oneof(fc.constant(good.token), text, junkJson, signed);
    const since = fc.oneof(fc.record({ epoch: text, offset: fc.oneof(fc.constantFrom("0-0", "1-1"), text) }, { requiredKeys: [] }), junkJson);
    const deviceId = fc.oneof(fc.constantFrom("phone", "constructor", "__proto__", "toString", "hasOwnProperty"), text, junkJson);
    const auth = fc.oneof(fc.record({ token, since, deviceId }, { requiredKeys: [] }), junkJson);
    await fc.assert(
      fc.asyncProperty(auth, async (a0) => {
        // a token drawn as {c: claims} is signed here with the node's own secret
        const a = a0 && typeof a0 === "object" && !Array.isArray(a0) && "token" in a0 && typeof a0.token === "object" && a0.token !== null && "c" in a0.token
          ? { ...a0, token: await (async () => new SignJWT(a0.token.c as Record<string, unknown>).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET)))().catch(() => "unsignable") } // junk claims (not an object) throw at once
          : a0;
        const answer = await raw.send(a === undefined ? "40" : `40${JSON.stringify(a)}`, handshakeAnswer);
        if (answer === null) return; // the server closed the connection (a packet it could not decode)
        if (answer.startsWith("40")) {
          expect(JSON.parse(answer.slice(2)).sid).toBeTypeOf("string");
          await raw.send("41"); // leave, to try the next handshake on the same connection
          return;
        }
        expect(answer.startsWith("44"), answer).toBe(true);
        const err = JSON.parse(answer.slice(2));
        expect(HANDSHAKE_CODES, answer).toContain(err.data?.code);
      }),
      { numRuns: runs(800) },
    );
    raw.close();
    alive();
  });

  it("survives any event a connected client sends", async () => {
    const raw = new RawChannel();
    const l = await login(node.url, { userId: "fz-events" });
    const handshake = `40${JSON.stringify({ token: l.token, deviceId: "fz-dev" })}`;
    let generation = -1;
    let joined = false;
    const args = fc.array(fc.oneof(junkJson, fc.record({ epoch: text, offset: fc.oneof(fc.constantFrom("1-0", "99999999999-0"), text) })), { maxLength: 3 });
    const event = fc.oneof(fc.constantFrom("ack", "message", "disconnect", "__proto__", "constructor"), text);
    const packet = fc.oneof(
      fc.tuple(event, args).map(([e, as]) => `42${JSON.stringify([e, ...as])}`),
      fc.tuple(fc.nat(1000), event, args).map(([id, e, as]) => `42${id}${JSON.stringify([e, ...as])}`),
      fc.string({ maxLength: 60 }).map((s) => `4${s}`),
      fc.string({ maxLength: 60 }),
    );
    await fc.assert(
      fc.asyncProperty(packet, async (p) => {
        if (generation !== raw.generation || raw.left || !joined) {
          // (re)join after the server closed the connection or the socket: a well-formed handshake must work
          const first = await raw.send(handshake, handshakeAnswer);
          if (first === null || !first.startsWith("40")) throw new Error(`a well-formed handshake failed: ${first}`);
          generation = raw.generation;
          raw.left = false;
          joined = true;
        }
        await raw.send(p);
      }),
      { numRuns: runs(1000) },
    );
    raw.close();
    alive();
  });
});

describe("fuzz: readers", () => {
  const validDoc = { version: 3, nodes: [{ id: "push-0", url: "http://push-0:8080", path: "/socket.io", state: "active" }], pins: { alice: "push-0" } };

  it("the affinity document reader returns a document or throws its own readable error", () => {
    const mutated = fc.record({ version: fc.oneof(fc.nat(), junkJson), nodes: fc.oneof(fc.array(fc.record({ id: text, url: fc.oneof(fc.webUrl(), text), path: text, state: fc.oneof(fc.constantFrom("active", "draining"), text) }, { requiredKeys: [] }), { maxLength: 3 }), junkJson), pins: fc.oneof(fc.dictionary(text, text), junkJson) }, { requiredKeys: [] });
    const input = fc.oneof(mutated.map((d) => JSON.stringify(d)), junkJson.map((d) => JSON.stringify(d)), fc.string(), fc.constant(JSON.stringify(validDoc)));
    fc.assert(
      fc.property(input, (t) => {
        try {
          const doc = parseAffinityDocument(t);
          expect(doc.nodes.every((n) => typeof n.id === "string")).toBe(true);
        } catch (err) {
          expect((err as Error).constructor).toBe(Error);
          expect((err as Error).message).toMatch(/^affinity document is (not JSON|invalid)/);
        }
      }),
      { numRuns: runs(3000) },
    );
  });

  it("the configuration loader returns a configuration or a ConfigError naming a variable", () => {
    const value = fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String), fc.constantFrom("true", "0", "redis://127.0.0.1:1", "ticket", "dev", "webhook", "x".repeat(40), "a/b", "cluster", "http://h", "10.0.0.0/8"));
    const env = fc.dictionary(fc.constantFrom(...CONFIG_VARIABLES), value, { maxKeys: 8 });
    fc.assert(
      fc.property(env, (e) => {
        try {
          const c = loadConfig(e, () => "r".repeat(43));
          expect(c.port).toBeTypeOf("number");
        } catch (err) {
          expect(err, String(err)).toBeInstanceOf(ConfigError);
          expect((err as Error).message).toMatch(/^invalid configuration:\n {2}[A-Z_]+/);
        }
      }),
      { numRuns: runs(3000) },
    );
  });
});

describe("after the fuzz", () => {
  it("the node still serves a well-behaved client", async () => {
    alive();
    const c = await connect(await login(node.url, { userId: "fz-after" }));
    const r = await publish(node.url, { to: ["fz-after"], data: { still: "here" } }, KEY);
    expect(r.status).toBe(202);
    expect((await c.waitFor(1))[0].data).toEqual({ still: "here" });
    c.close();
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
  });
});
