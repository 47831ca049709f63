// Publishing: a business server publishes a message addressed to users. The message is stored in each
// addressee's inbox, then handed to the nodes that hold those users right now (their presence), and
// only to them. Used by POST /v1/publish and by the publisher library that business servers embed.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Envelope, NodeBus } from "./bus/node-bus.js";
import type { StoredMessage, UserStore } from "./store/user-store.js";
import { presenceIsCurrent } from "./cluster/incarnation.js";

export interface PublishLimits {
  maxPayloadBytes: number;
  maxRecipients: number;
}

export const userId = z.string().min(1).max(256).regex(/^[^\u0000-\u001f]+$/, "must not contain control characters");

/** The schema of one message under these limits. Building a zod schema costs far more than using it (zod compiles
 * it on first use), so validatePublish builds it once per limits object. */
export const publishRequest = (limits: PublishLimits) =>
  z.strictObject({
    to: z.array(userId).min(1, "needs at least one user id").max(limits.maxRecipients, `at most ${limits.maxRecipients} recipients`),
    data: z.json(),
    event: z.string().min(1).max(64).regex(/^[A-Za-z0-9._:-]+$/, "letters, digits, '.', '_', ':' or '-'").default("message"),
    idempotencyKey: z.string().min(1).max(200).optional(),
  });

export type PublishRequest = { to: string[]; data: unknown; event?: string; idempotencyKey?: string };
export type PublishResult = { id: string; duplicate: boolean };

export class PublishError extends Error {
  constructor(readonly status: 400 | 413 | 503, readonly code: string, message: string) {
    super(message);
  }
}

/** Checks one message; returns it normalised or throws a PublishError (400, or 413 when the data is too large). */
const schemas = new WeakMap<PublishLimits, ReturnType<typeof publishRequest>>();

function schemaFor(limits: PublishLimits): ReturnType<typeof publishRequest> {
  let schema = schemas.get(limits);
  if (!schema) schemas.set(limits, (schema = publishRequest(limits)));
  return schema;
}

export function validatePublish(input: unknown, limits: PublishLimits): Required<Omit<PublishRequest, "idempotencyKey">> & { idempotencyKey?: string } {
  const parsed = schemaFor(limits).safeParse(input);
  if (!parsed.success) throw new PublishError(400, "INVALID_MESSAGE", z.prettifyError(parsed.error).replace(/\n/g, "; "));
  const size = Buffer.byteLength(JSON.stringify(parsed.data.data));
  if (size > limits.maxPayloadBytes) throw new PublishError(413, "PAYLOAD_TOO_LARGE", `data is ${size} bytes; the limit is ${limits.maxPayloadBytes}`);
  return { ...parsed.data, to: [...new Set(parsed.data.to)] };
}

export interface PublisherDeps {
  store: UserStore;
  bus: NodeBus;
  /** The nodes as last seen in the registry: id → incarnation (see presenceIsCurrent). */
  knownNodes: () => ReadonlyMap<string, string>;
  limits: PublishLimits;
  idempotencyWindowMs: number;
}

export class Publisher {
  constructor(private readonly deps: PublisherDeps) {}

  async publish(input: PublishRequest): Promise<PublishResult> {
    const req = validatePublish(input, this.deps.limits);
    const fresh: string = randomUUID();
    let id = fresh;
    if (req.idempotencyKey) id = await this.deps.store.claim(req.idempotencyKey, fresh, this.deps.idempotencyWindowMs);
    const message: StoredMessage = { id, event: req.event, data: req.data, ts: Date.now() };
    const dedupe = req.idempotencyKey !== undefined;
    const appended = await Promise.all(req.to.map((user) => this.deps.store.append(user, message, dedupe)));

    const known = this.deps.knownNodes();
    const byNode = new Map<string, Envelope>();
    appended.forEach((a, i) => {
      for (const [node, incarnation] of Object.entries(a.nodes)) {
        if (!presenceIsCurrent(incarnation, known.get(node))) continue;
        let env = byNode.get(node);
        if (!env) byNode.set(node, (env = { message, to: [] }));
        env.to.push({ user: req.to[i]!, epoch: a.epoch, offset: a.offset, prev: a.prev });
      }
    });
    await Promise.all([...byNode].map(([node, env]) => this.deps.bus.send(node, [env])));
    return { id, duplicate: id !== fresh };
  }
}
