// Publishing: a business server publishes a message addressed to users. The message is stored in each
// addressee's inbox, then handed to the nodes that hold those users right now (their presence), and
// only to them. Used by POST /v1/publish and by the publisher library that business servers embed.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Envelope, NodeBus } from "./ports.js";
import type { Dedupe, StoredMessage, UserStore } from "./ports.js";
import { messageDigest } from "./publish/canonical-json.js";
import { messageJson } from "./ports.js";
import { StoreUnavailableError } from "./publish/store-unavailable.js";
import { presenceIsCurrent } from "./cluster/incarnation.js";
import { DEFAULT_MAX_DEPTH, jsonProblem } from "./publish/json-value.js";

export interface PublishLimits {
  maxPayloadBytes: number;
  maxRecipients: number;
  /** Deepest nesting of arrays and objects in data (default DEFAULT_MAX_DEPTH, 64). */
  maxDataDepth?: number;
}

export const userId = z.string().min(1).max(256).regex(/^[^\u0000-\u001f]+$/, "must not contain control characters");

/** The schema of one message under these limits. Building a zod schema costs far more than using it (zod compiles
 * it on first use), so validatePublish builds it once per limits object. */
export const publishRequest = (limits: PublishLimits) =>
  z.strictObject({
    to: z.array(userId).min(1, "needs at least one user id").max(limits.maxRecipients, `at most ${limits.maxRecipients} recipients`),
    // Checked by jsonProblem in validatePublish, not by zod: z.json() copies objects, and a copy made by
    // assignment turns an own "__proto__" key into a prototype (the key is lost), and it recurses.
    data: z.unknown().refine((v) => v !== undefined, "data is required (any JSON value)"),
    event: z.string().min(1).max(64).regex(/^[A-Za-z0-9._:-]+$/, "letters, digits, '.', '_', ':' or '-'").default("message"),
    idempotencyKey: z.string().min(1).max(200).optional(),
  });

export type PublishRequest = { to: string[]; data: unknown; event?: string; idempotencyKey?: string };
export type PublishResult = { id: string; duplicate: boolean };

export class PublishError extends Error {
  constructor(readonly status: 400 | 409 | 413, readonly code: string, message: string) {
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
  const maxDepth = limits.maxDataDepth ?? DEFAULT_MAX_DEPTH;
  const problem = jsonProblem(parsed.data.data, maxDepth);
  if (problem?.kind === "too_deep") throw new PublishError(400, "JSON_TOO_DEEP", `data nests arrays and objects deeper than ${maxDepth} levels`);
  if (problem) throw new PublishError(400, "INVALID_MESSAGE", `data${problem.path} is not JSON (${problem.what})`);
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

  /**
   * Validates, claims the idempotency key (bound to the message's digest), appends to every inbox and
   * hands the message to the nodes holding its users. Throws PublishError for a bad or conflicting
   * message (nothing delivered), StoreUnavailableError when Redis failed part way (resend with its
   * idempotencyKey to complete it exactly once), and anything else as it came (a bug: HTTP 500).
   */
  async publish(input: PublishRequest): Promise<PublishResult> {
    const req = validatePublish(input, this.deps.limits);
    const window = this.deps.idempotencyWindowMs;
    const key = req.idempotencyKey;
    let id: string = randomUUID();
    let duplicate = false;
    let dedupe: Dedupe = false;
    try {
      if (key !== undefined) {
        const digest = messageDigest(req);
        // A key that is a Herald message id is a resend of that message (after a 503 without a key of its
        // own): it keeps that id, and its recipients are searched for it.
        const resend = MESSAGE_ID.test(key);
        const owner = await stored(this.deps.store.claim(key, resend ? key : id, digest, window));
        if (owner.digest !== null && owner.digest !== digest)
          throw new PublishError(409, "IDEMPOTENCY_KEY_REUSED", `idempotencyKey ${JSON.stringify(key)} was used within the last ${window / 1000} s for a different message (recipients, event or data); nothing was delivered`);
        id = owner.id;
        duplicate = !owner.claimed;
        if (duplicate || resend) dedupe = { sinceMs: Date.now() - window - DEDUPE_SLACK_MS };
      }
      // "id" first: the store finds a message's entry by the start of its JSON; "ts" last: a node reads it from the end (ports.ts, messageTs)
      const message: StoredMessage = { id, event: req.event, data: req.data, ts: Date.now() };
      const appended = await stored(Promise.all(req.to.map((user) => this.deps.store.append(user, message, dedupe))));

      const known = this.deps.knownNodes();
      const byNode = new Map<string, Envelope>();
      appended.forEach((a, i) => {
        if (a.sent) return;
        for (const [node, incarnation] of Object.entries(a.nodes)) {
          if (!presenceIsCurrent(incarnation, known.get(node))) continue;
          let env = byNode.get(node);
          if (!env) byNode.set(node, (env = { message: messageJson(message), to: [] }));
          env.to.push({ user: req.to[i]!, epoch: a.epoch, offset: a.offset, prev: a.prev });
        }
      });
      if (byNode.size) await stored(Promise.all([...byNode].map(([node, env]) => this.deps.bus.send(node, [env]))));
      return { id, duplicate };
    } catch (err) {
      if (err instanceof StoreFailure) throw new StoreUnavailableError(id, key ?? id, err.cause);
      throw err;
    }
  }
}

/** A Herald message id (randomUUID). */
const MESSAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Clocks of the nodes writing stream ids may differ this much. */
const DEDUPE_SLACK_MS = 5000;

/** A failure of the store or the bus (Redis), told apart from every other error. */
class StoreFailure extends Error {
  constructor(override readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
  }
}
function stored<T>(p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    throw new StoreFailure(err);
  });
}
