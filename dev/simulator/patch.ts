// Patch application: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch
// for the built-in kinds (pure functions: they take the current object and the patch and return the result).
import { clone, deepEqual, isPlainObject, type Obj } from "./objects.js";

export class PatchError extends Error {}

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const result: Obj = isPlainObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

function decodePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new PatchError(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentAndKey(doc: unknown, path: string[], pointer: string): { parent: any; key: string } {
  let cur: any = doc;
  for (const part of path.slice(0, -1)) {
    if (cur === null || typeof cur !== "object" || !(part in cur)) throw new PatchError(`doc is missing path: "${pointer}"`);
    cur = cur[part];
  }
  if (cur === null || typeof cur !== "object") throw new PatchError(`doc is missing path: "${pointer}"`);
  return { parent: cur, key: path[path.length - 1]! };
}

function readPointer(doc: unknown, pointer: string): unknown {
  let cur: any = doc;
  for (const part of decodePointer(pointer)) {
    if (cur === null || typeof cur !== "object" || !(part in cur)) throw new PatchError(`doc is missing path: "${pointer}"`);
    cur = cur[part];
  }
  return cur;
}

function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const path = decodePointer(pointer);
  if (path.length === 0) return clone(value);
  const { parent, key } = parentAndKey(doc, path, pointer);
  if (Array.isArray(parent)) {
    const index = key === "-" ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new PatchError(`index out of bounds: "${pointer}"`);
    parent.splice(index, 0, clone(value));
  } else parent[key] = clone(value);
  return doc;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const path = decodePointer(pointer);
  const { parent, key } = parentAndKey(doc, path, pointer);
  if (Array.isArray(parent)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) throw new PatchError(`index out of bounds: "${pointer}"`);
    parent.splice(index, 1);
  } else {
    if (!(key in parent)) throw new PatchError(`doc is missing path: "${pointer}"`);
    delete parent[key];
  }
  return doc;
}

export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new PatchError("a JSON patch must be an array of operations");
  let doc = clone(target);
  for (const op of operations) {
    if (!isPlainObject(op) || typeof op.path !== "string") throw new PatchError("invalid JSON patch operation");
    switch (op.op) {
      case "add":
        doc = addAt(doc, op.path, op.value);
        break;
      case "remove":
        doc = removeAt(doc, op.path);
        break;
      case "replace":
        readPointer(doc, op.path);
        doc = op.path === "" ? clone(op.value) : addAt(removeAt(doc, op.path), op.path, op.value);
        break;
      case "move": {
        const value = readPointer(doc, op.from);
        doc = addAt(removeAt(doc, op.from), op.path, value);
        break;
      }
      case "copy":
        doc = addAt(doc, op.path, readPointer(doc, op.from));
        break;
      case "test":
        if (!deepEqual(readPointer(doc, op.path), op.value)) throw new PatchError(`testing value ${op.path} failed`);
        break;
      default:
        throw new PatchError(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}

/** The strategic-merge key of the list at `path` (field names only), or "primitive-merge", or undefined (replace). */
export function mergeKeyFor(path: string[]): string | undefined {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  switch (last) {
    case "containers":
    case "initContainers":
    case "ephemeralContainers":
    case "env":
    case "volumes":
    case "imagePullSecrets":
      return "name";
    case "volumeMounts":
      return "mountPath";
    case "volumeDevices":
      return "devicePath";
    case "ownerReferences":
      return "uid";
    case "conditions":
      return "type";
    case "hostAliases":
      return "ip";
    case "topologySpreadConstraints":
      return "topologyKey";
    case "finalizers":
      return parent === "metadata" ? "primitive-merge" : undefined;
    case "ports":
      if (parent === "containers" || parent === "initContainers" || parent === "ephemeralContainers") return "containerPort";
      if (path.length === 2 && parent === "spec") return "port";
      return undefined;
    default:
      return undefined;
  }
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => !(isPlainObject(v) && v.$patch)).map(stripDirectives);
  if (!isPlainObject(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith("$")) out[k] = stripDirectives(v);
  return out;
}

function mergeList(original: unknown[], patch: unknown[], path: string[], order: unknown[] | undefined): unknown[] {
  const key = mergeKeyFor(path);
  if (patch.some((p) => isPlainObject(p) && p.$patch === "replace")) return stripDirectives(patch) as unknown[];
  if (key === "primitive-merge") {
    const out = [...original];
    for (const p of patch) if (!out.some((o) => deepEqual(o, p))) out.push(p);
    return out;
  }
  if (!key) return stripDirectives(patch) as unknown[];
  let result = original.map((o) => clone(o));
  for (const item of patch) {
    if (!isPlainObject(item)) continue;
    const index = result.findIndex((o) => isPlainObject(o) && o[key] === item[key]);
    if (item.$patch === "delete") {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) result[index] = strategicMerge(result[index], item, path);
    else result.push(strategicMerge({}, item, path));
  }
  if (order) {
    const rank = (o: unknown) => {
      const i = order.findIndex((k) => isPlainObject(k) && isPlainObject(o) && k[key] === o[key]);
      return i < 0 ? order.length : i;
    };
    result = result.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i).map((x) => x.o);
  }
  return result;
}

/** Applies a strategic merge patch to `original`; `path` is the field path of `original` inside the object. */
export function strategicMerge(original: unknown, patch: unknown, path: string[] = []): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  if (patch.$patch === "replace") return stripDirectives(patch);
  if (patch.$patch === "delete") return undefined;
  const result: Obj = isPlainObject(original) ? clone(original) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch" || key === "$retainKeys") continue;
    if (key.startsWith("$setElementOrder/")) continue;
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const field = key.slice("$deleteFromPrimitiveList/".length);
      if (Array.isArray(result[field]) && Array.isArray(value)) result[field] = result[field].filter((v: unknown) => !value.some((d) => deepEqual(d, v)));
      continue;
    }
    const childPath = [...path, key];
    if (value === null) delete result[key];
    else if (Array.isArray(value)) {
      const order = patch[`$setElementOrder/${key}`];
      result[key] = mergeList(Array.isArray(result[key]) ? result[key] : [], value, childPath, Array.isArray(order) ? order : undefined);
    } else if (isPlainObject(value)) {
      const merged = strategicMerge(result[key], value, childPath);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else result[key] = value;
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith("$setElementOrder/") || !Array.isArray(order)) continue;
    const field = key.slice("$setElementOrder/".length);
    if (Array.isArray(result[field]) && !(field in patch)) result[field] = mergeList(result[field], [], [...path, field], order);
  }
  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(result)) if (!patch.$retainKeys.includes(k)) delete result[k];
  }
  return result;
}
