// The publisher process: publishes messages to single users, each stamped with a wall-clock time of
// sub-millisecond resolution, by one of three paths: HTTP one message per request, HTTP batches, or
// Herald's publisher library. Open loop (a fixed rate; a message is stamped with the time it was due, so
// a server that falls behind shows as latency) or closed loop (a fixed number of requests in flight).
import type { Agent } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { keepAliveAgent, postJson } from "./lib/http.js";
import { emit, serve } from "./lib/rpc.js";

export type Path = "single" | "batch" | "library";
export interface RunArgs {
  system: "plain" | "herald";
  path: Path;
  entries: string[];
  publishKey: string;
  /** Users u0 … u(users-1); targets are random, or each user once in turn when `each` is set. */
  users: number;
  /** Or pick at random among these user ids. */
  targets?: string[];
  /** Pad each message's data with this many bytes. */
  padBytes?: number;
  each?: boolean;
  /** Open loop at this rate (messages/s), or closed loop with `concurrency` requests in flight. */
  rate?: number;
  concurrency?: number;
  batchSize: number;
  warmupMs: number;
  durationMs: number;
  seqStart: number;
  /** After the last message, how long to wait for answers before giving up on them. */
  drainMs: number;
  redisUrl: string;
  heraldDir: string;
  maxSockets: number;
}

interface Msg {
  s: number;
  t: number;
  user: string;
}

let pad: string | undefined;
/** A message's data: its sequence number and stamp, and the padding asked for. */
const data = (m: Msg) => (pad ? { s: m.s, t: m.t, p: pad } : { s: m.s, t: m.t });

const now = () => performance.timeOrigin + performance.now();

type Sender = (batch: Msg[]) => Promise<boolean[]>;

async function sender(a: RunArgs, agents: Agent[]): Promise<{ send: Sender; close: () => Promise<void> }> {
  let next = 0;
  const target = () => {
    const i = next++ % a.entries.length;
    return { url: a.entries[i]!, agent: agents[i]! };
  };
  const auth = { authorization: `Bearer ${a.publishKey}` };
  if (a.path === "library") {
    if (a.system !== "herald") throw new Error("the publisher library is Herald's");
    const mod = await import(pathToFileURL(join(a.heraldDir, "dist/push-node/index.js")).href);
    if (typeof mod.createPublisher !== "function") throw new Error(`${a.heraldDir} has no createPublisher`);
    const lib = await mod.createPublisher({ redisUrl: a.redisUrl, keyPrefix: "herald" });
    return {
      send: (batch) => Promise.all(batch.map((m) => lib.publish({ to: [m.user], data: data(m) }).then(() => true))),
      close: () => lib.close(),
    };
  }
  if (a.path === "batch") {
    if (a.system !== "herald") throw new Error("the plain cluster publishes one message per request");
    return {
      async send(batch) {
        const { url, agent } = target();
        const r = await postJson(`${url}/v1/publish`, { messages: batch.map((m) => ({ to: [m.user], data: data(m) })) }, agent, auth);
        if (r.status !== 202) throw Object.assign(new Error(`publish ${r.status}`), { code: r.body?.error?.code ?? `HTTP_${r.status}` });
        return (r.body.results as unknown[]).map((x: any) => typeof x?.id === "string");
      },
      close: async () => {},
    };
  }
  return {
    async send([m]) {
      const { url, agent } = target();
      const r =
        a.system === "herald"
          ? await postJson(`${url}/v1/publish`, { to: [m!.user], data: data(m!) }, agent, auth)
          : await postJson(`${url}/publish`, { to: m!.user, data: data(m!) }, agent);
      if (r.status !== 202) throw Object.assign(new Error(`publish ${r.status}`), { code: r.body?.error?.code ?? `HTTP_${r.status}` });
      return [true];
    },
    close: async () => {},
  };
}

async function run(a: RunArgs) {
  pad = a.padBytes ? "x".repeat(a.padBytes) : undefined;
  const agents = a.entries.map(() => keepAliveAgent(a.maxSockets));
  const { send, close } = await sender(a, agents);
  const batchSize = a.path === "batch" ? a.batchSize : 1;
  const t0 = now();
  const from = t0 + a.warmupMs;
  const to = from + a.durationMs;
  let seq = a.seqStart;
  const c = { offered: 0, offeredInWindow: 0, accepted: 0, acceptedInWindow: 0, failed: 0, unanswered: 0, inflight: 0, answers: 0, answerMsTotal: 0 };
  const errors: Record<string, number> = {};
  const make = (t: number): Msg => {
    const i = a.each ? (seq - a.seqStart) % a.users : Math.floor(Math.random() * a.users);
    const user = a.targets ? a.targets[Math.floor(Math.random() * a.targets.length)]! : `u${i}`;
    const m: Msg = { s: seq++, t, user };
    c.offered++;
    if (t >= from && t < to) c.offeredInWindow++;
    return m;
  };
  const dispatch = (batch: Msg[]): Promise<void> => {
    c.inflight += batch.length;
    const sentAt = now();
    return send(batch).then(
      (oks) =>
        oks.forEach((ok, k) => {
          const t = batch[k]!.t;
          // like every figure of the window, only requests whose messages are stamped inside it
          if (k === 0 && t >= from && t < to) [c.answers, c.answerMsTotal] = [c.answers + 1, c.answerMsTotal + now() - sentAt];
          if (ok) {
            c.accepted++;
            if (t >= from && t < to) c.acceptedInWindow++;
          } else c.failed++;
        }),
      (err: any) => {
        c.failed += batch.length;
        const code = String(err?.code ?? err?.message ?? err);
        errors[code] = (errors[code] ?? 0) + batch.length;
      },
    ).finally(() => (c.inflight -= batch.length));
  };
  setTimeout(() => emit({ event: "window", phase: "start", at: now() }), Math.max(0, from - now()));
  const windowEnd = new Promise<void>((r) =>
    setTimeout(() => {
      emit({ event: "window", phase: "end", at: now() });
      r();
    }, Math.max(0, to - now())),
  );

  if (a.rate) {
    const rate = a.rate;
    let made = 0;
    let pending: Msg[] = [];
    await new Promise<void>((done) => {
      const tick = () => {
        const n = Math.min(now(), to);
        const due = Math.floor(((n - t0) * rate) / 1000);
        while (made < due) {
          pending.push(make(t0 + (made * 1000) / rate));
          made++;
          if (pending.length >= batchSize) {
            void dispatch(pending);
            pending = [];
          }
        }
        if (n >= to) {
          if (pending.length) void dispatch(pending);
          return done();
        }
        setTimeout(tick, 1);
      };
      tick();
    });
  } else {
    const lanes = a.concurrency ?? 16;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (now() < to) {
          const t = now();
          await dispatch(Array.from({ length: batchSize }, () => make(t)));
        }
      }),
    );
  }
  await windowEnd;
  const deadline = Date.now() + a.drainMs;
  while (c.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  c.unanswered = c.inflight;
  for (const ag of agents) ag.destroy();
  await close();
  return { ...c, errors, from, to, nextSeq: seq };
}

serve({ run });
