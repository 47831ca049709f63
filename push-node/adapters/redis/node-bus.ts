// NodeBus over Redis streams: one stream per node (its own hash tag, so nodes spread over a cluster's
// masters), read by that node alone with a blocking XREAD on a dedicated connection. What concurrent
// publishes send to one node in the same tick goes out as one stream entry (one XADD, one read).
// An entry holds its envelopes as field pairs, 'm' the message's JSON as stored and 't' its addressees as
// JSON, so that a node hands the message to its sockets without parsing it (lua/append.lua writes the same).
import type { Logger } from "pino";
import type { RedisClient } from "../../../common/redis.js";
import { keys } from "../../../protocol/keys.js";
import type { DeliverySink, Envelope, NodeBus } from "../../ports.js";

/** A node's stream keeps about this many entries (older ones are trimmed as new ones come). */
export const NODE_BUS_MAX_LEN = 100_000;
/** An idle node wakes this often to re-issue its blocking read; stopping does not wait for it (the connection is closed). */
const BLOCK_MS = 5000;
const COUNT = 500;

interface Outgoing {
  envelopes: Envelope[];
  written: Promise<void>;
  settle: (err?: Error) => void;
}

export class RedisNodeBus implements NodeBus {
  private readonly k: ReturnType<typeof keys>;
  /** Envelopes sent in this tick, per node; written at the end of the tick. */
  private outgoing = new Map<string, Outgoing>();
  constructor(private readonly redis: RedisClient, prefix: string, private readonly log: Logger, private readonly onError: () => void = () => {}) {
    this.k = keys(prefix);
  }

  /** Resolves once the envelopes are in the node's stream (with whatever else went to that node in this tick). */
  send(node: string, envelopes: Envelope[]): Promise<void> {
    if (this.outgoing.size === 0) process.nextTick(() => this.flush());
    let out = this.outgoing.get(node);
    if (!out) {
      let settle!: (err?: Error) => void;
      const written = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
      this.outgoing.set(node, (out = { envelopes: [], written, settle }));
    }
    for (const e of envelopes) out.envelopes.push(e);
    return out.written;
  }

  private flush(): void {
    const batch = this.outgoing;
    this.outgoing = new Map();
    for (const [node, out] of batch)
      this.redis.xadd(this.k.nodeBus(node), "MAXLEN", "~", NODE_BUS_MAX_LEN, "*", ...entryFields(out.envelopes)).then(() => out.settle(), (err: Error) => out.settle(err));
  }

  async consume(node: string, sink: DeliverySink): Promise<() => Promise<void>> {
    const key = this.k.nodeBus(node);
    const reader = (this.redis as { duplicate(): RedisClient }).duplicate();
    const newest = await reader.xrevrange(key, "+", "-", "COUNT", 1);
    let last = newest[0]?.[0] ?? "0-0";
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          const res = await reader.xread("COUNT", COUNT, "BLOCK", BLOCK_MS, "STREAMS", key, last);
          if (!res) continue;
          for (const [, entries] of res) {
            for (const [id, fields] of entries) {
              last = id;
              const envelopes = entryEnvelopes(fields);
              if (envelopes.length) sink.deliver(envelopes);
            }
          }
        } catch (err) {
          if (!running) break;
          this.onError();
          this.log.warn({ err: (err as Error).message }, "reading this node's stream failed; retrying");
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
    return async () => {
      running = false;
      reader.disconnect();
      await loop;
    };
  }
}

/** A stream entry's fields for these envelopes: 'm', the message JSON, 't', the addressees as JSON, for each. */
export function entryFields(envelopes: readonly Envelope[]): string[] {
  const fields: string[] = [];
  for (const e of envelopes) fields.push("m", e.message, "t", JSON.stringify(e.to));
  return fields;
}

/**
 * The envelopes of a stream entry (entryFields'), each message left as JSON. An entry written before this
 * format (one 'd' field, the envelopes as JSON with their messages as objects) is read too, so that nodes of
 * the two versions share a cluster while it rolls.
 */
export function entryEnvelopes(fields: readonly string[]): Envelope[] {
  const out: Envelope[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    if (name === "m") out.push({ message: fields[i + 1]!, to: [] });
    else if (name === "t" && out.length) out[out.length - 1]!.to = JSON.parse(fields[i + 1]!) as Envelope["to"];
    else if (name === "d")
      for (const e of JSON.parse(fields[i + 1]!) as { message: unknown; to: Envelope["to"] }[]) out.push({ message: JSON.stringify(e.message), to: e.to });
  }
  return out;
}
