// Published data is any JSON value, kept exactly as sent: these checks read it without copying it (no
// zod output, no object spread), so own keys such as "__proto__" and "constructor" survive, and they walk
// it with an explicit stack, so no depth can overflow the call stack.

/** Default for HERALD_MAX_DATA_DEPTH: arrays and objects nested at most this deep. */
export const DEFAULT_MAX_DEPTH = 64;

export type JsonProblem = { kind: "too_deep"; depth: number } | { kind: "not_json"; path: string; what: string };

/**
 * Null when `value` is a JSON value (null, boolean, finite number, string, arrays and plain objects of
 * them) nested at most `maxDepth` deep (a scalar has depth 0, `[]` and `{}` depth 1); else the problem.
 * Iterative: safe for any depth.
 */
export function jsonProblem(value: unknown, maxDepth: number): JsonProblem | null {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: "" }];
  const seen = new Set<object>();
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (v === null || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return { kind: "not_json", path, what: String(v) };
      continue;
    }
    if (typeof v !== "object") return { kind: "not_json", path, what: typeof v };
    if (depth + 1 > maxDepth) return { kind: "too_deep", depth: depth + 1 };
    if (seen.has(v)) return { kind: "not_json", path, what: "a cycle" };
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: depth + 1, path: `${path}[${i}]` });
      continue;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return { kind: "not_json", path, what: proto?.constructor?.name ?? "an object with a prototype" };
    for (const k of Object.keys(v)) stack.push({ v: (v as Record<string, unknown>)[k], depth: depth + 1, path: `${path}.${k}` });
  }
  return null;
}

/** The deepest nesting of arrays and objects in a JSON value, counting only up to `limit + 1`. Iterative. */
export function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
  return false;
}
