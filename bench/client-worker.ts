// A client worker process: logs users in, holds their Socket.IO connections (sources spread over 127.0.0.x)
// and records, for each message received, publish→receive latency from the publisher's wall-clock stamp.
import type { Agent } from "node:http";
import { io, type Socket } from "socket.io-client";
import { keepAliveAgent, postJson } from "./lib/http.js";
import { serve } from "./lib/rpc.js";
import { mintTicket } from "./lib/ticket.js";

type System = "plain" | "herald";
interface Setup {
  system: System;
  /** Node URLs clients log in through (round robin, as a load balancer would). */
  entries: string[];
  ticketSecret: string;
  /** Source addresses for the WebSockets, used round robin. */
  addresses: string[];
  /** Herald: connect with a deviceId and acknowledge every message (as the client SDK does). */
  acks?: boolean;
}
interface Target {
  url: string;
  path: string;
  auth: Record<string, unknown>;
}

let setup: Setup;
/**
 * Logins leave from LOGIN_SOURCES addresses (127.1.0.1 …), each with its own keep-alive connections, as
 * users behind many addresses would: a node's per-address login limit (hardening) then holds at its default.
 * One keep-alive connection per address and worker: with 19,000 WebSockets on one node, the login
 * connections must leave room under the node's open-file limit (20,000 here).
 */
export const LOGIN_SOURCES = 100;
const loginAgents: Agent[] = [];
let nextLoginAgent = 0;
const loginAgent = () => loginAgents[nextLoginAgent++ % loginAgents.length]!;
let ticketKey: Buffer;
let nextAddress = 0;
let nextEntry = 0;
const sockets = new Map<string, Socket>();
const prefetched = new Map<string, Target>();
let disconnects = 0;

// What arrived: parallel arrays (seq, stamp, latency), and duplicates by stamp.
let seqs: number[] = [];
let stamps: number[] = [];
let latencies: number[] = [];
let dupStamps: number[] = [];
let seen = new Set<number>();

const now = () => performance.timeOrigin + performance.now();

function onMessage(this: Socket, m: any): void {
  const arrived = now();
  if (setup.acks && setup.system === "herald" && m?.epoch) this.emit("ack", { epoch: m.epoch, offset: m.offset });
  const d = setup.system === "herald" ? m?.data : m;
  if (!d || typeof d.s !== "number" || typeof d.t !== "number") return;
  // One message goes to one user, held by one socket: a repeated seq is a duplicate delivery.
  if (seen.has(d.s)) return void dupStamps.push(d.t);
  seen.add(d.s);
  seqs.push(d.s);
  stamps.push(d.t);
  latencies.push(arrived - d.t);
}

/** The login request: Herald's POST /v1/login with a ticket, or the plain cluster's fake login. */
async function login(user: string): Promise<Target> {
  const entry = setup.entries[nextEntry++ % setup.entries.length]!;
  if (setup.system === "plain") {
    const r = await postJson(`${entry}/login`, { userId: user }, loginAgent());
    if (r.status !== 200) throw Object.assign(new Error(`login ${r.status}`), { code: `LOGIN_${r.status}` });
    return { url: r.body.node.url, path: r.body.node.path, auth: { userId: user } };
  }
  const r = await postJson(`${entry}/v1/login`, { ticket: mintTicket(user, ticketKey) }, loginAgent());
  if (r.status !== 200) throw Object.assign(new Error(`login ${r.status} ${JSON.stringify(r.body)}`), { code: r.body?.error?.code ?? `LOGIN_${r.status}` });
  const auth: Record<string, unknown> = { token: r.body.token };
  if (setup.acks) auth.deviceId = `d-${user}`;
  return { url: r.body.node.url, path: r.body.node.path, auth };
}

function errorCode(err: any): string {
  if (err?.code) return String(err.code);
  if (err?.data?.code) return String(err.data.code);
  const d = err?.description;
  const inner = d?.error ?? d;
  return String(inner?.code ?? inner?.message ?? err?.message ?? err);
}

function open(user: string, t: Target): Promise<void> {
  const localAddress = setup.addresses[nextAddress++ % setup.addresses.length];
  const s = io(t.url, { path: t.path, auth: t.auth, transports: ["websocket"], forceNew: true, reconnection: false, timeout: 30_000, localAddress } as never);
  return new Promise((resolve, reject) => {
    s.once("connect", () => {
      sockets.set(user, s);
      s.on("message", onMessage.bind(s));
      s.on("disconnect", (reason) => {
        if (reason !== "io client disconnect") disconnects++;
      });
      resolve();
    });
    s.once("connect_error", (err) => {
      s.close();
      reject(err);
    });
  });
}

/** Runs `each` over users with at most `concurrency` at once; counts failures by code. */
async function pool(users: string[], concurrency: number, each: (u: string) => Promise<void>) {
  const started = performance.now();
  const codes: Record<string, number> = {};
  let ok = 0;
  let i = 0;
  const lane = async () => {
    while (i < users.length) {
      const u = users[i++]!;
      try {
        await each(u);
        ok++;
      } catch (err) {
        const c = errorCode(err);
        codes[c] = (codes[c] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, users.length)) }, lane));
  return { ok, failed: users.length - ok, codes, ms: performance.now() - started };
}

function inWindow(from: number, to: number) {
  let received = 0;
  for (const t of stamps) if (t >= from && t < to) received++;
  let dups = 0;
  for (const t of dupStamps) if (t >= from && t < to) dups++;
  return { received, dups };
}

serve({
  setup(a: Setup) {
    setup = a;
    for (let i = 1; i <= LOGIN_SOURCES; i++) loginAgents.push(keepAliveAgent(1, `127.1.0.${i}`));
    ticketKey = Buffer.from(a.ticketSecret);
    return process.pid;
  },
  /** Log in and connect each user (login, then handshake), `concurrency` at a time. */
  connect: (a: { users: string[]; concurrency: number }) => pool(a.users, a.concurrency, async (u) => open(u, await login(u))),
  /** Log in only, keeping the tokens for openAll (a burst of handshakes without logins in it). */
  login: (a: { users: string[]; concurrency: number }) => pool(a.users, a.concurrency, async (u) => void prefetched.set(u, await login(u))),
  /** Opens every prefetched connection at once. */
  async openAll() {
    const users = [...prefetched.keys()];
    const r = await pool(users, users.length, (u) => open(u, prefetched.get(u)!));
    prefetched.clear();
    return r;
  },
  /** One login, then `sockets` connections with its token (a greedy client). */
  async connectSame(a: { user: string; sockets: number }) {
    const target = await login(a.user);
    const started = performance.now();
    const codes: Record<string, number> = {};
    let ok = 0;
    for (let i = 0; i < a.sockets; i++) {
      try {
        await open(`${a.user}#${i}`, target);
        ok++;
      } catch (err) {
        const c = errorCode(err);
        codes[c] = (codes[c] ?? 0) + 1;
      }
    }
    return { ok, failed: a.sockets - ok, codes, ms: performance.now() - started };
  },
  count: (a: { from: number; to: number }) => ({ ...inWindow(a.from, a.to), total: stamps.length }),
  stats(a: { from: number; to: number; clear?: boolean }) {
    const lat: number[] = [];
    for (let k = 0; k < stamps.length; k++) if (stamps[k]! >= a.from && stamps[k]! < a.to) lat.push(latencies[k]!);
    const r = { ...inWindow(a.from, a.to), latencies: lat, connected: sockets.size, disconnects };
    if (a.clear) {
      seqs = [];
      stamps = [];
      latencies = [];
      dupStamps = [];
      seen = new Set();
    }
    return r;
  },
  async close() {
    for (const s of sockets.values()) s.close();
    sockets.clear();
    for (const a of loginAgents) a.destroy();
    return true;
  },
});
