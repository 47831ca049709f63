// managedFields and server-side apply ownership (pure functions), after the real API server's field
// manager (k8s.io/apiserver fieldmanager over sigs.k8s.io/structured-merge-diff):
// - a field set is a set of paths; a path is a list of elements `f:<field>`, `k:{"<mergeKey>":<value>}`
//   (an item of an associative list), `v:<json>` (an item of a set list); members are the leaves (scalars,
//   atomic lists, empty maps) and the items of associative and set lists;
// - an Update (create, update, non-apply patch) gives its manager the fields it added or changed and takes
//   them from every other manager; fields it removed leave every manager;
// - an Apply gives its manager exactly the fields of its configuration; a field another manager owns
//   whose value the apply changes is a conflict (409) unless forced, in which case ownership moves; a
//   field the manager applied last time and no longer applies is removed unless someone else owns it.
import { clone, deepEqual, isPlainObject, type Obj } from "./objects.js";
import { mergeKeyFor } from "./patch.js";

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time?: string;
  fieldsType: "FieldsV1";
  fieldsV1: Obj;
  subresource?: string;
}

/** How lists are merged: by strategic merge key (built-in kinds) or replaced whole (custom resources, whose apply is a merge patch). */
export type ListStrategy = "strategic" | "atomic";

/** A path is stored as the JSON of its element list. */
type PathKey = string;

/** The metadata the field manager never tracks (its StripMetaManager), plus the server's deletion fields. */
const STRIPPED_METADATA = new Set(["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"]);

// ---- flattening an object into its members ------------------------------------------------------

/** The list's key field ("name"…), "set" for a set list, or undefined for an atomic list. */
function listKind(fieldPath: string[], strategy: ListStrategy, items: unknown[]): string | "set" | undefined {
  if (strategy === "atomic") return undefined;
  const key = mergeKeyFor(fieldPath);
  if (key === "primitive-merge") return items.every((i) => !isPlainObject(i) && !Array.isArray(i)) ? "set" : undefined;
  if (!key) return undefined;
  const keys = items.map((i) => (isPlainObject(i) ? i[key] : undefined));
  if (keys.some((k) => k === undefined || isPlainObject(k) || Array.isArray(k)) || new Set(keys.map((k) => JSON.stringify(k))).size !== keys.length) return undefined;
  return key;
}

/**
 * Every member of `obj` with its value (JSON; list items get a marker), within the part a write through
 * `subresource` can change: status only for the status subresource; everything but status (when the
 * kind has a status subresource) for the main resource.
 */
export function flatten(obj: Obj, strategy: ListStrategy, scope: Scope = {}): Map<PathKey, string> {
  const out = new Map<PathKey, string>();
  const walk = (value: unknown, path: string[], fieldPath: string[]) => {
    if (isPlainObject(value)) {
      const keys = Object.keys(value).filter((k) => value[k] !== undefined);
      if (keys.length === 0 && path.length > 0) out.set(JSON.stringify(path), "{}");
      for (const k of keys) {
        if (path.length === 0 && (k === "apiVersion" || k === "kind")) continue;
        if (path.length === 1 && path[0] === "f:metadata" && STRIPPED_METADATA.has(k)) continue;
        if (path.length === 0 && !inScope(k, scope)) continue;
        walk(value[k], [...path, `f:${k}`], [...fieldPath, k]);
      }
      return;
    }
    if (Array.isArray(value) && value.length > 0) {
      const kind = listKind(fieldPath, strategy, value);
      if (kind === "set") {
        for (const item of value) out.set(JSON.stringify([...path, `v:${JSON.stringify(item)}`]), "item");
        return;
      }
      if (kind) {
        for (const item of value as Obj[]) {
          const itemPath = [...path, `k:${JSON.stringify({ [kind]: item[kind] })}`];
          out.set(JSON.stringify(itemPath), "item");
          walk(item, itemPath, fieldPath);
        }
        return;
      }
    }
    out.set(JSON.stringify(path), JSON.stringify(value));
  };
  walk(obj, [], []);
  return out;
}

export interface Scope {
  /** The kind has a status subresource (so main-resource writes do not touch status). */
  statusSubresource?: boolean;
  subresource?: string;
}

function inScope(topField: string, scope: Scope): boolean {
  if (scope.subresource === "status") return topField === "status";
  if (scope.statusSubresource) return topField !== "status";
  return true;
}

// ---- FieldsV1 encoding ----------------------------------------------------------------------------

export function encodeFieldsV1(set: Set<PathKey>): Obj {
  const root: Obj = {};
  const sorted = [...set].map((k) => JSON.parse(k) as string[]).sort((a, b) => a.length - b.length);
  for (const path of sorted) {
    let node = root;
    for (const el of path) {
      if (!isPlainObject(node[el])) node[el] = {};
      node = node[el];
    }
    node["."] = {};
  }
  // A member with no children is written `{}`; one with children (a list item) keeps `".": {}`.
  const tidy = (node: Obj): Obj => {
    const keys = Object.keys(node);
    if (keys.length === 1 && keys[0] === ".") return {};
    const out: Obj = {};
    for (const k of keys.sort((a, b) => (a === "." ? -1 : b === "." ? 1 : a < b ? -1 : a > b ? 1 : 0))) out[k] = k === "." ? {} : tidy(node[k]);
    return out;
  };
  return tidy(root);
}

/** The paths of a FieldsV1 tree; throws on a malformed one. */
export function decodeFieldsV1(fields: unknown): Set<PathKey> {
  const out = new Set<PathKey>();
  const walk = (node: unknown, path: string[]) => {
    if (!isPlainObject(node)) throw new Error("FieldsV1 nodes must be objects");
    const keys = Object.keys(node);
    if (keys.length === 0) {
      if (path.length > 0) out.add(JSON.stringify(path));
      return;
    }
    for (const k of keys) {
      if (k === ".") {
        out.add(JSON.stringify(path));
        continue;
      }
      if (!/^[fkvi]:/.test(k)) throw new Error(`unknown FieldsV1 element ${k}`);
      walk(node[k], [...path, k]);
    }
  };
  walk(fields, []);
  return out;
}

// ---- paths as the real server prints them ----------------------------------------------------------

/** `.spec.template.spec.containers[name="main"].image`, as structured-merge-diff prints a path. */
export function pathString(key: PathKey): string {
  return (JSON.parse(key) as string[])
    .map((el) => {
      const body = el.slice(2);
      if (el.startsWith("f:")) return `.${body}`;
      if (el.startsWith("k:"))
        return `[${Object.entries(JSON.parse(body) as Obj)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(",")}]`;
      if (el.startsWith("v:")) return `[=${body}]`;
      return `[${body}]`;
    })
    .join("");
}

// ---- managers ---------------------------------------------------------------------------------------

interface Manager {
  entry: Omit<ManagedFieldsEntry, "fieldsV1" | "fieldsType">;
  set: Set<PathKey>;
}

/** A manager's identity: name, operation, subresource, and for Update the apiVersion (as BuildManagerIdentifier). */
function identity(e: { manager: string; operation: string; apiVersion: string; subresource?: string }): string {
  return JSON.stringify([e.manager, e.operation, e.operation === "Apply" ? "" : e.apiVersion, e.subresource ?? ""]);
}

/** Decodes managedFields; undefined when they are not valid (the server then keeps the live ones). */
export function decodeManagedFields(entries: unknown): Manager[] | undefined {
  if (!Array.isArray(entries)) return undefined;
  try {
    return entries.map((e) => {
      if (!isPlainObject(e) || typeof e.manager !== "string" || (e.operation !== "Apply" && e.operation !== "Update")) throw new Error("bad entry");
      if (e.fieldsType !== undefined && e.fieldsType !== "FieldsV1") throw new Error("bad fieldsType");
      return {
        entry: { manager: e.manager, operation: e.operation, apiVersion: String(e.apiVersion ?? ""), ...(e.time ? { time: e.time } : {}), ...(e.subresource ? { subresource: e.subresource } : {}) },
        set: decodeFieldsV1(e.fieldsV1 ?? {}),
      };
    });
  } catch {
    return undefined;
  }
}

function encode(managers: Manager[]): ManagedFieldsEntry[] | undefined {
  // Sorted as the real server sorts them: Apply before Update, then by time, manager, apiVersion, subresource.
  const order = (m: Manager) => [m.entry.operation, m.entry.time ?? "", m.entry.manager, m.entry.apiVersion, m.entry.subresource ?? ""];
  const kept = managers
    .filter((m) => m.set.size > 0)
    .sort((a, b) => {
      const x = order(a);
      const y = order(b);
      const i = x.findIndex((v, n) => v !== y[n]);
      return i < 0 ? 0 : x[i]! < y[i]! ? -1 : 1;
    });
  if (kept.length === 0) return undefined;
  return kept.map((m) => {
    const { manager, operation, apiVersion, time, subresource } = m.entry;
    return { manager, operation, apiVersion, ...(time ? { time } : {}), fieldsType: "FieldsV1" as const, fieldsV1: encodeFieldsV1(m.set), ...(subresource ? { subresource } : {}) };
  });
}

/**
 * The managers a write starts from (decodeLiveOrNew): an empty list `[]` (or one empty entry) in the
 * incoming object resets them; other valid incoming managedFields replace the live ones; anything else,
 * and every subresource write, keeps the live ones.
 */
export function baseManagers(live: Obj | undefined, incoming: Obj, subresource?: string): Manager[] {
  const liveManagers = () => decodeManagedFields(live?.metadata?.managedFields ?? []) ?? [];
  if (subresource) return liveManagers();
  const given = incoming.metadata?.managedFields;
  if (Array.isArray(given) && (given.length === 0 || (given.length === 1 && isPlainObject(given[0]) && Object.keys(given[0]).length === 0))) return [];
  const decoded = Array.isArray(given) && given.length > 0 ? decodeManagedFields(given) : undefined;
  return decoded ?? liveManagers();
}

/** What changed between two objects: members added or given a new value, and members removed. */
function compare(before: Map<PathKey, string>, after: Map<PathKey, string>): { changed: Set<PathKey>; removed: Set<PathKey> } {
  const changed = new Set<PathKey>();
  const removed = new Set<PathKey>();
  for (const [k, v] of after) if (before.get(k) !== v) changed.add(k);
  for (const k of before.keys()) if (!after.has(k)) removed.add(k);
  return { changed, removed };
}

export interface WriteContext {
  manager: string;
  apiVersion: string;
  strategy: ListStrategy;
  scope: Scope;
  now: string;
}

/**
 * The managedFields after an Update by `ctx.manager` from `live` (undefined for a create) to `next`,
 * starting from `managers` (see baseManagers). Undefined when nobody owns anything.
 */
export function updateManagedFields(managers: Manager[], live: Obj | undefined, next: Obj, ctx: WriteContext): ManagedFieldsEntry[] | undefined {
  const { changed, removed } = compare(live ? flatten(live, ctx.strategy, ctx.scope) : new Map(), flatten(next, ctx.strategy, ctx.scope));
  const me = identity({ manager: ctx.manager, operation: "Update", apiVersion: ctx.apiVersion, subresource: ctx.scope.subresource });
  const out = managers.map((m) => ({ entry: { ...m.entry }, set: new Set([...m.set].filter((p) => !changed.has(p) && !removed.has(p))) }));
  if (changed.size > 0) {
    const mine = out.find((m) => identity(m.entry) === me);
    const previous = managers.find((m) => identity(m.entry) === me);
    const set = new Set([...(previous?.set ?? [])].filter((p) => !removed.has(p)));
    for (const p of changed) set.add(p);
    const entry = { manager: ctx.manager, operation: "Update" as const, apiVersion: ctx.apiVersion, time: ctx.now, ...(ctx.scope.subresource ? { subresource: ctx.scope.subresource } : {}) };
    if (mine) Object.assign(mine, { entry, set });
    else out.push({ entry, set });
  }
  return encode(out);
}

export interface Conflict {
  manager: string;
  path: PathKey;
}

export class ApplyConflict extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super(conflictMessage(conflicts));
  }
}

function printManager(m: Manager["entry"]): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === "Update") s += ` using ${m.apiVersion}`;
  return s;
}

/** The real server's wording (fieldmanager getConflictMessage). */
function conflictMessage(conflicts: Conflict[]): string {
  if (conflicts.length === 1) return `Apply failed with 1 conflict: conflict with ${conflicts[0]!.manager}: ${pathString(conflicts[0]!.path)}`;
  const byManager = new Map<string, PathKey[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.path]);
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${m}:`);
    for (const p of byManager.get(m)!) lines.push(`- ${pathString(p)}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
}

// ---- apply --------------------------------------------------------------------------------------------

function parsePath(key: PathKey): string[] {
  return JSON.parse(key) as string[];
}

/** The container (object or array) holding the member at `path`, and how to find it there. */
function locate(obj: Obj, path: string[]): { parent: any; index: number | string } | undefined {
  let cur: any = obj;
  for (let i = 0; i < path.length; i++) {
    const el = path[i]!;
    const body = el.slice(2);
    let next: { parent: any; index: number | string } | undefined;
    if (el.startsWith("f:")) next = isPlainObject(cur) && body in cur ? { parent: cur, index: body } : undefined;
    else if (el.startsWith("k:") && Array.isArray(cur)) {
      const key = JSON.parse(body) as Obj;
      const idx = cur.findIndex((item) => isPlainObject(item) && Object.entries(key).every(([k, v]) => deepEqual(item[k], v)));
      next = idx >= 0 ? { parent: cur, index: idx } : undefined;
    } else if (el.startsWith("v:") && Array.isArray(cur)) {
      const value = JSON.parse(body);
      const idx = cur.findIndex((item) => deepEqual(item, value));
      next = idx >= 0 ? { parent: cur, index: idx } : undefined;
    }
    if (!next) return undefined;
    if (i === path.length - 1) return next;
    cur = next.parent[next.index];
  }
  return undefined;
}

function removeAt(obj: Obj, path: string[]): void {
  const at = locate(obj, path);
  if (!at) return;
  if (Array.isArray(at.parent)) at.parent.splice(at.index as number, 1);
  else delete at.parent[at.index];
}

/**
 * Removes from `merged` what the applier owned last time (`lastSet`) and owns no longer, unless some
 * manager (the applier's new set included) still owns it; a list item goes only when nothing below it is
 * still owned, and a map or list left empty by the removal goes with it.
 */
export function prune(merged: Obj, lastSet: Set<PathKey>, ownedNow: Set<PathKey>): Obj {
  const out = clone(merged);
  const removable = [...lastSet].filter((p) => !ownedNow.has(p)).sort((a, b) => parsePath(b).length - parsePath(a).length);
  if (removable.length === 0) return out;
  for (const key of removable) {
    const path = parsePath(key);
    const last = path[path.length - 1]!;
    const parentEl = path[path.length - 2];
    // A list item's key field goes with the item, never alone.
    if (last.startsWith("f:") && parentEl?.startsWith("k:") && last.slice(2) in (JSON.parse(parentEl.slice(2)) as Obj)) continue;
    // Something below it still owned keeps it (a list item keeps its key and the owned fields; what nobody owns, such as defaults, goes with it when it goes).
    const prefix = key.slice(0, -1) + ",";
    if ([...ownedNow].some((p) => p.startsWith(prefix))) continue;
    removeAt(out, path);
    // Parents emptied by the removal go too, unless they are members someone owns.
    for (let n = path.length - 1; n > 0; n--) {
      const parentPath = path.slice(0, n);
      const at = locate(out, parentPath);
      if (!at) break;
      const v = at.parent[at.index];
      const empty = (isPlainObject(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0);
      if (!empty || ownedNow.has(JSON.stringify(parentPath)) || parentPath[parentPath.length - 1]!.startsWith("k:")) break;
      removeAt(out, parentPath);
    }
  }
  return out;
}

/**
 * The object and managedFields after an Apply of `config` by `ctx.manager`: `merged` is the live object
 * with the configuration merged in. Throws ApplyConflict when the apply changes a field another manager
 * owns, unless `force`.
 */
export function applyManagedFields(managers: Manager[], live: Obj, merged: Obj, config: Obj, ctx: WriteContext, force: boolean): { object: Obj; managedFields: ManagedFieldsEntry[] | undefined } {
  const me = identity({ manager: ctx.manager, operation: "Apply", apiVersion: ctx.apiVersion, subresource: ctx.scope.subresource });
  const lastSet = managers.find((m) => identity(m.entry) === me)?.set ?? new Set<PathKey>();
  const newSet = new Set(flatten(config, ctx.strategy, ctx.scope).keys());
  const entry = { manager: ctx.manager, operation: "Apply" as const, apiVersion: ctx.apiVersion, time: ctx.now, ...(ctx.scope.subresource ? { subresource: ctx.scope.subresource } : {}) };
  const others = managers.filter((m) => identity(m.entry) !== me).map((m) => ({ entry: { ...m.entry }, set: new Set(m.set) }));
  const ownedNow = new Set<PathKey>(newSet);
  for (const m of others) for (const p of m.set) ownedNow.add(p);
  const object = prune(merged, lastSet, ownedNow);
  const { changed, removed } = compare(flatten(live, ctx.strategy, ctx.scope), flatten(object, ctx.strategy, ctx.scope));
  const conflicts: Conflict[] = [];
  for (const m of others) for (const p of m.set) if (changed.has(p)) conflicts.push({ manager: printManager(m.entry), path: p });
  if (conflicts.length > 0 && !force) throw new ApplyConflict(conflicts.sort((a, b) => (a.manager < b.manager ? -1 : a.manager > b.manager ? 1 : pathString(a.path) < pathString(b.path) ? -1 : 1)));
  for (const m of others) m.set = new Set([...m.set].filter((p) => !changed.has(p) && !removed.has(p)));
  return { object, managedFields: encode([...others, { entry, set: newSet }]) };
}

/**
 * The default field manager when the request names none: the user agent up to its first "/", as the
 * real server (so a client sending no User-Agent is the manager "").
 */
export function defaultManager(userAgent: string | undefined): string {
  return (userAgent ?? "").split("/")[0]!.slice(0, 128);
}
