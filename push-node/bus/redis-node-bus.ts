// NodeBus over Redis streams: one stream per node (its own hash tag, so nodes spread over a cluster's
// masters), read by that node alone with a blocking XREAD on a dedicated connection.
import type { Logger } from "pino";
import type { RedisClient } from "../../common/redis.js";
import { keys } from "../../protocol/keys.js";
import type { Envelope, NodeBus } from "./node-bus.js";

const MAX_LEN = 100_000;
const BLOCK_MS = 1000;
const COUNT = 500;

export class RedisNodeBus implements NodeBus {
  private readonly k: ReturnType<typeof keys>;
  constructor(private readonly redis: RedisClient, prefix: string, private readonly log: Logger, private readonly onError: () => void = () => {}) {
    this.k = keys(prefix);
  }

  async send(node: string, envelopes: Envelope[]): Promise<void> {
    await this.redis.xadd(this.k.nodeBus(node), "MAXLEN", "~", MAX_LEN, "*", "d", JSON.stringify(envelopes));
  }

  async consume(node: string, handler: (envelopes: Envelope[]) => void): Promise<() => Promise<void>> {
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
              const d = fields[fields.indexOf("d") + 1];
              if (d) handler(JSON.parse(d) as Envelope[]);
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
