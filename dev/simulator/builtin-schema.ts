// Built-in kinds checked against the Kubernetes OpenAPI schema as the kubernetes-models package ships
// it (pure, apart from loading the package's compiled validators once per kind). What the real API
// server finds while decoding (a value of the wrong JSON type, a malformed quantity) is a 400 decoding
// error; a missing required field or a value outside an enum is a 422 cause, merged with the
// simulator's other checks. Unknown fields are not reported: the package's schemas allow them.
import { createRequire } from "node:module";
import type { Cause } from "./schema.js";

const require = createRequire(import.meta.url);

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, any>;
  message?: string;
}

type Model = new (data: unknown) => { validate(): void };
const models = new Map<string, Model | null>();

/** The package's class for a kind ("apps/v1", "StatefulSet"), or null when it ships none. */
function modelOf(apiVersion: string, kind: string): Model | null {
  const key = `${apiVersion}/${kind}`;
  if (!models.has(key)) {
    try {
      models.set(key, (require(`kubernetes-models/${apiVersion}/${kind}`) as Record<string, Model>)[kind] ?? null);
    } catch {
      models.set(key, null);
    }
  }
  return models.get(key)!;
}

/** "/spec/containers/0/name" → "spec.containers[0].name", as the API server writes field paths. */
export function fieldPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), "");
}

const GO_TYPE: Record<string, string> = { integer: "int32", number: "float64", string: "string", boolean: "bool", object: "map or struct", array: "slice" };
const jsonType = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "object" ? "object" : typeof v === "boolean" ? "bool" : typeof v);
const valueAt = (obj: unknown, pointer: string) =>
  pointer
    .split("/")
    .slice(1)
    .reduce<any>((v, p) => (v === undefined || v === null ? undefined : v[p.replace(/~1/g, "/").replace(/~0/g, "~")]), obj);

export interface SchemaFindings {
  /** A decoding error (400): the first value of the wrong type or a malformed quantity. */
  decodeError?: string;
  /** Validation causes (422). */
  causes: Cause[];
}

/** Turns the validator's errors into what the API server reports (pure). */
export function findingsFrom(obj: unknown, errors: AjvError[]): SchemaFindings {
  const byPath = new Map<string, AjvError[]>();
  for (const e of errors) byPath.set(e.instancePath, [...(byPath.get(e.instancePath) ?? []), e]);
  const causes: Cause[] = [];
  let decodeError: string | undefined;
  for (const [pointer, errs] of byPath) {
    const path = fieldPath(pointer);
    const value = valueAt(obj, pointer);
    const quantity = errs.find((e) => e.keyword === "format" && e.params.format === "quantity");
    const oneOf = errs.some((e) => e.keyword === "oneOf");
    const type = errs.find((e) => e.keyword === "type");
    if (quantity) decodeError ??= `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`;
    else if (oneOf) decodeError ??= `json: cannot unmarshal ${jsonType(value)} into Go struct field .${path} of type intstr.IntOrString`;
    else if (type) decodeError ??= `json: cannot unmarshal ${jsonType(value)} into Go struct field .${path} of type ${GO_TYPE[String(type.params.type)] ?? type.params.type}`;
    for (const e of errs) {
      if (e.keyword === "required") causes.push({ reason: "FieldValueRequired", message: "Required value", field: path ? `${path}.${e.params.missingProperty}` : String(e.params.missingProperty) });
      else if (e.keyword === "enum" && !type)
        causes.push({ reason: "FieldValueNotSupported", message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`, field: path });
    }
  }
  return { ...(decodeError ? { decodeError } : {}), causes };
}

/** The schema's findings for a built-in object; none for a kind the package does not ship. */
export function checkBuiltin(apiVersion: string, kind: string, obj: unknown): SchemaFindings {
  const Model = modelOf(apiVersion, kind);
  if (!Model) return { causes: [] };
  try {
    new Model(obj).validate();
    return { causes: [] };
  } catch (err) {
    const errors = (err as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors)) throw err;
    return findingsFrom(obj, errors);
  }
}
