// Drift of an owned object, field by field (pure). The operator owns exactly the fields it writes: a
// live object has drifted when one of them differs, or when a field the operator wrote last time and no
// longer wants is still there. Fields others add (another controller's annotations, server defaults)
// are not the operator's and are left alone.
//
// Maps are compared key by key (extra live keys are someone else's), except selectors, which are
// atomic: a key added to a Service's selector changes which pods it routes to. Arrays are atomic in
// length and order (Role verbs, env, ports), their elements compared as objects (so server-defaulted
// fields inside a container or a port are not drift). Resource quantities compare by value ("0.5" and
// "500m" are the same CPU, as a real API server canonicalises them).

/** Map keys whose value is owned as a whole (extra live keys are drift too). */
const ATOMIC_MAPS = new Set(["selector", "matchLabels", "nodeSelector"]);

type Json = unknown;
const isMap = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
const isEmpty = (v: Json) => v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isMap(v) && Object.keys(v).length === 0);

const SUFFIX: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
/** A Kubernetes quantity's value ("500m" → 0.5, "1Gi" → 1073741824), or null when it is not one. */
export function quantity(v: Json): number | null {
  if (typeof v === "number") return v;
  if (typeof v !== "string") return null;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|)$/.exec(v);
  return m ? Number(m[1]) * SUFFIX[m[2]!]! : null;
}

function same(want: Json, live: Json, path: string[]): boolean {
  if (isEmpty(want) && isEmpty(live)) return true;
  const parent = path.at(-2);
  if ((parent === "requests" || parent === "limits") && quantity(want) !== null) return quantity(want) === quantity(live);
  if (Array.isArray(want)) return Array.isArray(live) && live.length === want.length && want.every((w, i) => same(w, live[i], [...path, String(i)]));
  if (isMap(want)) {
    if (!isMap(live)) return false;
    if (ATOMIC_MAPS.has(path.at(-1) ?? "") && Object.keys(live).some((k) => !(k in want))) return false;
    return Object.entries(want).every(([k, w]) => same(w, live[k], [...path, k]));
  }
  return want === live;
}

/** Paths ("spec.replicas", "rules") where the live object differs from what the operator wants of it. */
export function drifted(want: Json, live: Json, lastApplied: Json = undefined): string[] {
  const out: string[] = [];
  const walk = (w: Json, l: Json, last: Json, path: string[]) => {
    if (isMap(w) && isMap(l) && !ATOMIC_MAPS.has(path.at(-1) ?? "")) {
      for (const [k, v] of Object.entries(w)) walk(v, l[k], isMap(last) ? last[k] : undefined, [...path, k]);
      // a field the operator wrote last time and wants no more, still there
      if (isMap(last)) for (const k of Object.keys(last)) if (!(k in w) && k in l && !isEmpty(l[k])) out.push([...path, k].join("."));
      return;
    }
    if (!same(w, l, path)) out.push(path.join("."));
  };
  walk(want, live, lastApplied, []);
  return out;
}

/**
 * The JSON merge patch that makes a live object what the operator wants: everything it wants, null for
 * what it wrote last time and wants no more, and null for keys others added to an atomic map.
 */
export function repairPatch(want: Json, live: Json, lastApplied: Json): Json {
  if (!isMap(want)) return want;
  const out: Record<string, Json> = {};
  const liveMap = isMap(live) ? live : {};
  for (const [k, v] of Object.entries(want)) {
    if (ATOMIC_MAPS.has(k) && isMap(v)) {
      const extra = isMap(liveMap[k]) ? Object.keys(liveMap[k] as object).filter((x) => !(x in v)) : [];
      out[k] = { ...Object.fromEntries(extra.map((x) => [x, null])), ...v };
    } else out[k] = isMap(v) ? repairPatch(v, liveMap[k], isMap(lastApplied) ? lastApplied[k] : undefined) : v;
  }
  if (isMap(lastApplied)) for (const k of Object.keys(lastApplied)) if (!(k in want) && k in liveMap) out[k] = null;
  return out;
}
