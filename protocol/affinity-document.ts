// The affinity document: which push nodes exist, how clients reach them, their state, and pinned users.
// Its JSON format is specified in docs/affinity.md; the operator writes it, login reads it.
import { z } from "zod";

export const nodeState = z.enum(["active", "draining"]);

export const affinityNode = z.strictObject({
  id: z.string().min(1).max(63),
  url: z.url({ protocol: /^https?$/ }),
  path: z.string().regex(/^\/[^\s?#]*$/, "must start with '/'").default("/socket.io"),
  state: nodeState.default("active"),
});

export const affinityDocument = z.strictObject({
  version: z.number().int().min(0),
  nodes: z.array(affinityNode).refine((ns) => new Set(ns.map((n) => n.id)).size === ns.length, "node ids must be unique"),
  pins: z.record(z.string().min(1), z.string().min(1)).default({}),
});

export type AffinityNode = z.infer<typeof affinityNode>;
export type AffinityDocument = z.infer<typeof affinityDocument>;

/** Parses a document from JSON text; throws an Error whose message says what is wrong. */
export function parseAffinityDocument(text: string): AffinityDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`affinity document is not JSON: ${(err as Error).message}`);
  }
  const parsed = affinityDocument.safeParse(json);
  if (!parsed.success) throw new Error(`affinity document is invalid: ${z.prettifyError(parsed.error)}`);
  keepProtoPin(json, parsed.data.pins);
  return parsed.data;
}

/**
 * zod's record drops an own "__proto__" key, but it is a user id like any other: a pin for it is kept
 * (as an own property, read with Object.hasOwn by assign()), when it names a node as every pin must.
 */
function keepProtoPin(json: unknown, pins: Record<string, string>): void {
  const raw = (json as { pins?: unknown }).pins;
  if (typeof raw !== "object" || raw === null || !Object.hasOwn(raw, "__proto__")) return;
  const node = (raw as Record<string, unknown>)["__proto__"];
  if (typeof node !== "string" || node === "") throw new Error('affinity document is invalid: pins["__proto__"] must be a node id');
  Object.defineProperty(pins, "__proto__", { value: node, enumerable: true, writable: true, configurable: true });
}
