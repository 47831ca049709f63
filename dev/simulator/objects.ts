// Small helpers over plain JSON objects (pure functions).
import { randomBytes } from "node:crypto";

export type Obj = Record<string, any>;

export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

export function isPlainObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

export function getPath(obj: unknown, path: string[]): unknown {
  let cur: any = obj;
  for (const part of path) {
    if (cur === null || cur === undefined) return undefined;
    cur = cur[part];
  }
  return cur;
}

export function setPath(obj: Obj, path: string[], value: unknown): void {
  let cur: any = obj;
  for (const part of path.slice(0, -1)) {
    if (!isPlainObject(cur[part])) cur[part] = {};
    cur = cur[part];
  }
  cur[path[path.length - 1]!] = value;
}

/** ".spec.replicas" or "spec.replicas" → ["spec", "replicas"]; also accepts ".metadata.labels['a.b/c']" forms. */
export function splitDotPath(path: string): string[] {
  const parts: string[] = [];
  const re = /\[\?\((.*?)\)\]|\.?([^.[\]]+)|\[['"]?([^'"\]]+)['"]?\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path))) parts.push(m[1] !== undefined ? `?(${m[1]})` : (m[2] ?? m[3]!));
  return parts;
}

/** Whether `item` passes a JSONPath filter such as `@.type=="Ready"`, `@.status!='False'` or `@.name`. */
function passesFilter(item: unknown, filter: string): boolean {
  const m = /^@\.([\w.]+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|(-?[\d.]+|true|false))$/.exec(filter.trim());
  if (!m) {
    const exists = /^@\.([\w.]+)$/.exec(filter.trim());
    return exists ? getPath(item, exists[1]!.split(".")) !== undefined : false;
  }
  const actual = getPath(item, m[1]!.split("."));
  const expected = m[3] ?? m[4] ?? m[5]!;
  const equal = String(actual) === expected && actual !== undefined;
  return m[2] === "==" ? equal : !equal;
}

/**
 * Evaluates the JSONPath subset used by additionalPrinterColumns: ".a.b", ".a[0].b", ".a[*].b" and
 * filters such as `.status.conditions[?(@.type=="Ready")].reason`.
 */
export function evalSimpleJsonPath(obj: unknown, path: string): unknown {
  const inner = path.replace(/^\{|\}$/g, "").replace(/^\$/, "");
  const parts = splitDotPath(inner);
  let values: unknown[] = [obj];
  for (const part of parts) {
    const next: unknown[] = [];
    for (const v of values) {
      if (v === null || v === undefined) continue;
      if (part.startsWith("?(")) {
        if (Array.isArray(v)) next.push(...v.filter((item) => passesFilter(item, part.slice(2, -1))));
      } else if (part === "*") {
        if (Array.isArray(v)) next.push(...v);
        else if (isPlainObject(v)) next.push(...Object.values(v));
      } else if (Array.isArray(v) && /^\d+$/.test(part)) next.push(v[Number(part)]);
      else next.push((v as any)[part]);
    }
    values = next.filter((v) => v !== undefined);
  }
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : values;
}

export function randomSuffix(length = 5): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

export function newUid(): string {
  const h = randomBytes(16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/** A duration the way kubectl prints ages: 45s, 3m12s, 5h, 2d. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** Stable short hash of a JSON value, used for pod-template hashes. */
export function shortHash(value: unknown): string {
  const text = JSON.stringify(value ?? null);
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0).toString(36).padStart(7, "0").slice(0, 10);
}
