// The client SDK in tests: an "application" per user that records what the SDK hands it, event-driven
// waits, a steady publisher that retries with idempotency keys, and the lost/duplicated/reordered count.
import { HeraldClient, type GapEvent, type HeraldClientOptions, type HeraldError, type HeraldMessage } from "../../client/index.js";
import { ticketFor } from "./client.js";
import { PUBLISH_KEY } from "./push-node.js";

export interface SdkApp {
  user: string;
  client: HeraldClient<{ seq: number }>;
  /** data.seq of each message the application was handed, in order. */
  seqs: number[];
  messages: HeraldMessage<{ seq: number }>[];
  gaps: GapEvent[];
  errors: HeraldError[];
  /** Ids of the nodes the client opened a channel to, in order. */
  nodes: string[];
  /** Resolves once `check()` holds; re-checked on every SDK event; rejects after timeoutMs. */
  until(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts an SDK client for `user` (ticket logins) against `url`. */
export function sdkApp(url: string, user: string, options: Partial<HeraldClientOptions<{ seq: number }>> = {}): SdkApp {
  const client = new HeraldClient<{ seq: number }>({
    url,
    credentials: async () => ({ body: { ticket: await ticketFor(user) } }),
    backoff: { initialMs: 50, maxMs: 1000 },
    ...options,
  });
  const app: SdkApp = {
    user,
    client,
    seqs: [],
    messages: [],
    gaps: [],
    errors: [],
    nodes: [],
    until: (check, what, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        if (check()) return resolve();
        const events = ["message", "gap", "login", "connected", "disconnected", "state", "error"] as const;
        const test = () => {
          if (!check()) return;
          done();
          resolve();
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${user}: timed out waiting for ${what} (seqs ${app.seqs.length}, gaps ${app.gaps.length}, state ${client.state}, errors ${app.errors.map((e) => e.code).join(",")})`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          for (const e of events) client.off(e, test);
        };
        for (const e of events) client.on(e, test);
      }),
    close: () => client.close(),
  };
  client.on("message", (m) => {
    app.messages.push(m);
    app.seqs.push(m.data.seq);
  });
  client.on("gap", (g) => app.gaps.push(g));
  client.on("error", (e) => app.errors.push(e));
  client.on("connected", (i) => app.nodes.push(i.node.id));
  client.start();
  return app;
}

/** How a received sequence differs from the accepted one (both lists of seq numbers). Pure. */
export function tally(accepted: number[], received: number[]): { lost: number; duplicated: number; reordered: number } {
  const got = new Set(received);
  let reordered = 0;
  for (let i = 1; i < received.length; i++) if (received[i]! < received[i - 1]!) reordered++;
  return { lost: accepted.filter((s) => !got.has(s)).length, duplicated: received.length - got.size, reordered };
}

export interface SteadyPublisher {
  /** Seqs whose publish was accepted (202), in order. */
  accepted: number[];
  /** Publish attempts that failed and were retried. */
  retries: number;
  /** Stops after the publish in flight is accepted; resolves with the accepted seqs. */
  stop(): Promise<number[]>;
  /** Resolves once `n` more messages than now have been accepted. */
  advance(n: number, timeoutMs?: number): Promise<void>;
}

/**
 * Publishes {seq} to all `users` one message at a time, paced by `intervalMs`, each with an idempotency
 * key, retrying a failed publish (on the next url) until it is accepted: the business server's side of
 * "a message accepted by Herald".
 */
export function steadyPublisher(urls: () => string[], users: string[], opts: { intervalMs?: number; runId?: string } = {}): SteadyPublisher {
  const intervalMs = opts.intervalMs ?? 5;
  const runId = opts.runId ?? Math.random().toString(36).slice(2);
  let running = true;
  const accepted: number[] = [];
  const watchers: Array<() => void> = [];
  const pace = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const sp: SteadyPublisher = {
    accepted,
    retries: 0,
    stop: async () => {
      running = false;
      await loop;
      return accepted;
    },
    advance: (n, timeoutMs = 20_000) => {
      const target = accepted.length + n;
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`publisher stuck at ${accepted.length} accepted (wanted ${target}), ${sp.retries} retries`)), timeoutMs);
        const w = () => {
          if (accepted.length < target) return;
          clearTimeout(t);
          watchers.splice(watchers.indexOf(w), 1);
          resolve();
        };
        watchers.push(w);
      });
    },
  };
  const loop = (async () => {
    for (let seq = 1; running; seq++) {
      for (let attempt = 0; ; attempt++) {
        const list = urls();
        const url = list[attempt % list.length]!;
        const status = await fetch(`${url}/v1/publish`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${PUBLISH_KEY}` },
          body: JSON.stringify({ to: users, data: { seq }, idempotencyKey: `${runId}-${seq}` }),
          signal: AbortSignal.timeout(5000),
        }).then(
          async (r) => (await r.arrayBuffer(), r.status),
          () => 0,
        );
        if (status === 202) break;
        sp.retries++;
        await pace(Math.min(200, 10 * (attempt + 1)));
      }
      accepted.push(seq);
      for (const w of [...watchers]) w();
      await pace(intervalMs);
    }
  })();
  return sp;
}
