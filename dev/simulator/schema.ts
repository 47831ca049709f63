// Structural-schema handling for custom resources: defaulting, pruning and validation (pure functions).
// Error causes are shaped like the real API server's (field.Error → StatusCause).
import { parse as parseCel } from "@marcbachmann/cel-js";
import { clone, isPlainObject, type Obj } from "./objects.js";

export interface Cause {
  reason:
    | "FieldValueInvalid"
    | "FieldValueRequired"
    | "FieldValueNotSupported"
    | "FieldValueTypeInvalid"
    | "FieldValueTooLong"
    | "FieldValueTooMany"
    | "FieldValueDuplicate"
    | "FieldValueForbidden";
  message: string;
  field: string;
}

type Schema = Obj;

function show(value: unknown): string {
  return JSON.stringify(value);
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(schema: Schema, value: unknown): boolean {
  if (schema["x-kubernetes-int-or-string"]) return typeof value === "string" || (typeof value === "number" && Number.isInteger(value));
  const actual = typeOf(value);
  switch (schema.type) {
    case undefined:
      return true;
    case "number":
      return actual === "number" || actual === "integer";
    default:
      return actual === schema.type;
  }
}

function childSchema(schema: Schema, key: string): Schema | undefined {
  if (isPlainObject(schema.properties) && schema.properties[key]) return schema.properties[key];
  if (isPlainObject(schema.additionalProperties)) return schema.additionalProperties;
  return undefined;
}

/** Fills in `default`s for absent properties, recursively, as the API server does before validation. */
export function applyDefaults(schema: Schema | undefined, value: unknown): unknown {
  if (!schema) return value;
  if (isPlainObject(value)) {
    const out: Obj = { ...value };
    for (const [key, prop] of Object.entries<Schema>(schema.properties ?? {})) {
      if (out[key] === undefined && prop.default !== undefined) out[key] = clone(prop.default);
    }
    for (const key of Object.keys(out)) {
      const child = childSchema(schema, key);
      if (child) out[key] = applyDefaults(child, out[key]);
    }
    return out;
  }
  if (Array.isArray(value) && schema.items) return value.map((v) => applyDefaults(schema.items, v));
  return value;
}

/** Drops fields the schema does not declare; returns the pruned value and the paths of dropped fields. */
export function prune(schema: Schema | undefined, value: unknown, path = ""): { value: unknown; unknown: string[] } {
  if (!schema || schema["x-kubernetes-preserve-unknown-fields"] === true && !schema.properties) return { value, unknown: [] };
  const dropped: string[] = [];
  if (isPlainObject(value) && (schema.type === "object" || schema.properties || schema.additionalProperties)) {
    const out: Obj = {};
    for (const [key, v] of Object.entries(value)) {
      const child = childSchema(schema, key);
      const childPath = path ? `${path}.${key}` : key;
      if (child) {
        const r = prune(child, v, childPath);
        out[key] = r.value;
        dropped.push(...r.unknown);
      } else if (schema.additionalProperties === true || schema["x-kubernetes-preserve-unknown-fields"] === true) out[key] = v;
      else dropped.push(childPath);
    }
    return { value: out, unknown: dropped };
  }
  if (Array.isArray(value) && schema.items) {
    const items = value.map((v, i) => {
      const r = prune(schema.items, v, `${path}[${i}]`);
      dropped.push(...r.unknown);
      return r.value;
    });
    return { value: items, unknown: dropped };
  }
  return { value, unknown: [] };
}

const celPrograms = new Map<string, ReturnType<typeof parseCel> | Error>();

/**
 * The CRD's `x-kubernetes-validations` on this node, evaluated with `self` bound to the value (CEL, as a
 * real API server does). Transition rules (those reading `oldSelf`) are not evaluated: the simulator
 * validates an object without its previous version here.
 */
function celCauses(schema: Schema, value: unknown, field: string): Cause[] {
  const rules = schema["x-kubernetes-validations"];
  if (!Array.isArray(rules)) return [];
  const causes: Cause[] = [];
  for (const r of rules as Array<{ rule: string; message?: string; reason?: string; fieldPath?: string }>) {
    if (typeof r?.rule !== "string" || /\boldSelf\b/.test(r.rule)) continue;
    let program = celPrograms.get(r.rule);
    if (!program) {
      try {
        program = parseCel(r.rule);
      } catch (err) {
        program = err as Error;
      }
      celPrograms.set(r.rule, program);
    }
    let ok: unknown;
    try {
      if (program instanceof Error) throw program;
      ok = program({ self: value });
    } catch (err) {
      causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${show(typeOf(value))}: rule compile/evaluation error: ${(err as Error).message}`, field });
      continue;
    }
    if (ok !== true) {
      const reason = r.reason === "FieldValueForbidden" || r.reason === "FieldValueRequired" || r.reason === "FieldValueDuplicate" ? r.reason : "FieldValueInvalid";
      const at = r.fieldPath ? `${field === "<root>" ? "" : field}${r.fieldPath}` : field;
      causes.push({ reason, message: `Invalid value: ${show(typeOf(value))}: ${r.message ?? `failed rule: ${r.rule}`}`, field: at });
    }
  }
  return causes;
}

/** Validates `value` against a structural schema and returns the causes, empty when valid. */
export function validateSchema(schema: Schema | undefined, value: unknown, path = ""): Cause[] {
  if (!schema) return [];
  const field = path || "<root>";
  const causes: Cause[] = [];
  const invalid = (message: string): Cause => ({ reason: "FieldValueInvalid", message: `Invalid value: ${show(value)}: ${message}`, field });

  if (value === null) {
    if (schema.nullable) return [];
    if (!schema.type) return [];
    return [{ reason: "FieldValueTypeInvalid", message: `Invalid value: "null": ${field} in body must be of type ${schema.type}: "null"`, field }];
  }
  if (!typeMatches(schema, value)) {
    return [{ reason: "FieldValueTypeInvalid", message: `Invalid value: ${show(typeOf(value))}: ${field} in body must be of type ${schema.type}: ${show(typeOf(value))}`, field }];
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value))) {
    causes.push({ reason: "FieldValueNotSupported", message: `Unsupported value: ${show(value)}: supported values: ${schema.enum.map(show).join(", ")}`, field });
  }
  if (typeof value === "number") {
    if (typeof schema.maximum === "number") {
      if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)
        causes.push(invalid(`${field} in body should be less than ${schema.exclusiveMaximum ? "" : "or equal to "}${schema.maximum}`));
    }
    if (typeof schema.minimum === "number") {
      if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)
        causes.push(invalid(`${field} in body should be greater than ${schema.exclusiveMinimum ? "" : "or equal to "}${schema.minimum}`));
    }
    if (typeof schema.multipleOf === "number" && value % schema.multipleOf !== 0) causes.push(invalid(`${field} in body should be a multiple of ${schema.multipleOf}`));
  }
  if (typeof value === "string") {
    if (typeof schema.maxLength === "number" && [...value].length > schema.maxLength)
      causes.push({ reason: "FieldValueTooLong", message: `Too long: may not be more than ${schema.maxLength} bytes`, field });
    if (typeof schema.minLength === "number" && [...value].length < schema.minLength) causes.push(invalid(`${field} in body should be at least ${schema.minLength} chars long`));
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) causes.push(invalid(`${field} in body should match '${schema.pattern}'`));
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems)
      causes.push({ reason: "FieldValueTooMany", message: `Too many: ${value.length}: must have at most ${schema.maxItems} items`, field });
    if (typeof schema.minItems === "number" && value.length < schema.minItems) causes.push(invalid(`${field} in body should have at least ${schema.minItems} items`));
    if (schema.items) value.forEach((v, i) => causes.push(...validateSchema(schema.items, v, `${path}[${i}]`)));
  }
  causes.push(...celCauses(schema, value, field));
  if (isPlainObject(value)) {
    for (const req of schema.required ?? []) {
      if (value[req] === undefined) causes.push({ reason: "FieldValueRequired", message: "Required value", field: path ? `${path}.${req}` : req });
    }
    if (typeof schema.maxProperties === "number" && Object.keys(value).length > schema.maxProperties)
      causes.push({ reason: "FieldValueTooMany", message: `Too many: ${Object.keys(value).length}: must have at most ${schema.maxProperties} items`, field });
    for (const [key, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (path === "" && (key === "metadata" || key === "apiVersion" || key === "kind")) continue;
      const child = childSchema(schema, key);
      if (child) causes.push(...validateSchema(child, v, path ? `${path}.${key}` : key));
    }
  }
  return causes;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Object-name validation as for most kinds (RFC 1123 subdomain). */
export function validateName(name: unknown): Cause[] {
  if (typeof name !== "string" || name === "") return [{ reason: "FieldValueRequired", message: "Required value: name or generateName is required", field: "metadata.name" }];
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    return [
      {
        reason: "FieldValueInvalid",
        message: `Invalid value: ${show(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        field: "metadata.name",
      },
    ];
  }
  return [];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Name validation for kinds whose names must be DNS labels (Namespace, Service). */
export function validateLabelName(name: string): Cause[] {
  if (name.length <= 63 && DNS_LABEL.test(name)) return [];
  return [
    {
      reason: "FieldValueInvalid",
      message: `Invalid value: ${show(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      field: "metadata.name",
    },
  ];
}

export function formatCauses(causes: Cause[]): string {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  return parts.length === 1 ? parts[0]! : `[${parts.join(", ")}]`;
}
