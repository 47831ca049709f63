// Label and field selectors, parsed once and matched against plain objects (pure functions).
import { getPath } from "./objects.js";

export type LabelRequirement =
  | { key: string; op: "=" | "!="; values: [string] }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists"; values: [] }
  | { key: string; op: "gt" | "lt"; values: [string] };

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

export class SelectorError extends Error {}

export function parseLabelSelector(text: string | undefined | null): LabelRequirement[] {
  if (!text) return [];
  return splitTopLevel(text).map((part): LabelRequirement => {
    let m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (m) {
      const values = m[3]!.split(",").map((v) => v.trim()).filter((v) => v !== "");
      return { key: m[1]!, op: m[2] as "in" | "notin", values };
    }
    m = /^!\s*([^=!<>\s]+)$/.exec(part);
    if (m) return { key: m[1]!, op: "!exists", values: [] };
    m = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)$/.exec(part);
    if (m) {
      const op = m[2] === "!=" ? "!=" : m[2] === ">" ? "gt" : m[2] === "<" ? "lt" : "=";
      return { key: m[1]!, op, values: [m[3]!] } as LabelRequirement;
    }
    m = /^([^=!<>\s()]+)$/.exec(part);
    if (m) return { key: m[1]!, op: "exists", values: [] };
    throw new SelectorError(`unable to parse requirement: ${JSON.stringify(part)}`);
  });
}

export function matchesLabels(requirements: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const value = l[r.key];
    switch (r.op) {
      case "=":
        return has && value === r.values[0];
      case "!=":
        return !has || value !== r.values[0];
      case "in":
        return has && r.values.includes(value!);
      case "notin":
        return !has || !r.values.includes(value!);
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "gt":
        return has && Number(value) > Number(r.values[0]);
      case "lt":
        return has && Number(value) < Number(r.values[0]);
    }
  });
}

/** A metav1.LabelSelector ({matchLabels, matchExpressions}) as requirements. */
export function requirementsFromLabelSelector(selector: any): LabelRequirement[] {
  if (!selector) return [];
  const reqs: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) reqs.push({ key, op: "=", values: [String(value)] });
  for (const e of selector.matchExpressions ?? []) {
    const op = String(e.operator).toLowerCase();
    if (op === "in") reqs.push({ key: e.key, op: "in", values: e.values ?? [] });
    else if (op === "notin") reqs.push({ key: e.key, op: "notin", values: e.values ?? [] });
    else if (op === "exists") reqs.push({ key: e.key, op: "exists", values: [] });
    else if (op === "doesnotexist") reqs.push({ key: e.key, op: "!exists", values: [] });
  }
  return reqs;
}

/** A map selector (Service.spec.selector): every key must match. An empty map matches nothing here. */
export function matchesMapSelector(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export function formatLabelSelector(selector: any): string {
  return requirementsFromLabelSelector(selector)
    .map((r) => {
      if (r.op === "=") return `${r.key}=${r.values[0]}`;
      if (r.op === "in" || r.op === "notin") return `${r.key} ${r.op} (${r.values.join(",")})`;
      if (r.op === "exists") return r.key;
      return `!${r.key}`;
    })
    .join(",");
}

export interface FieldRequirement {
  path: string;
  op: "=" | "!=";
  value: string;
}

export function parseFieldSelector(text: string | undefined | null): FieldRequirement[] {
  if (!text) return [];
  return splitTopLevel(text).map((part) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw new SelectorError(`invalid field selector: ${JSON.stringify(part)}`);
    return { path: m[1]!, op: m[2] === "!=" ? "!=" : "=", value: m[3]!.trim() };
  });
}

function fieldValue(obj: any, path: string): string {
  const v = getPath(obj, path.split("."));
  if (v === undefined || v === null) return "";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export function matchesFields(requirements: FieldRequirement[], obj: any): boolean {
  return requirements.every((r) => (fieldValue(obj, r.path) === r.value) === (r.op === "="));
}
