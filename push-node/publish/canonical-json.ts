// RFC 8785 (JSON Canonicalization Scheme) for the JSON values Herald takes: object keys sorted by UTF-16
// code units, no whitespace, numbers and strings as ECMAScript's JSON.stringify writes them (which is what
// RFC 8785 specifies). Reads own keys only and builds a string, so "__proto__" keys count like any other.
// Call it on values already checked by jsonProblem (bounded depth): it recurses.
import { createHash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
}

/**
 * What an idempotency key is bound to: the normalised message — recipients as a sorted set, the event
 * (defaulted), the data canonicalised — hashed (SHA-256, base64url). Two requests that mean the same
 * delivery have the same digest, whatever their key order, whitespace or recipient order.
 */
export function messageDigest(m: { to: readonly string[]; event: string; data: unknown }): string {
  const to = [...new Set(m.to)].sort();
  return createHash("sha256").update(canonicalJson({ to, event: m.event, data: m.data })).digest("base64url");
}
