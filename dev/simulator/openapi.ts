// Just enough OpenAPI v3 for kubectl: a root index of group-versions, and per group-version documents
// whose PATCH operations declare the fieldValidation parameter (so kubectl validates server-side) and,
// for custom resources, their schemas (pure).
import { createHash } from "node:crypto";
import { groupVersions, type ResourceType } from "./resources.js";

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function docFor(types: ResourceType[], group: string, version: string): object {
  const paths: Record<string, object> = {};
  const schemas: Record<string, object> = {};
  const queryParams = ["fieldValidation", "dryRun", "fieldManager"].map((name) => ({ name, in: "query", schema: { type: "string", uniqueItems: true } }));
  for (const t of types.filter((x) => x.group === group && x.version === version)) {
    const gvk = { group, version, kind: t.kind };
    const base = `/${gvPath(group, version)}${t.namespaced ? "/namespaces/{namespace}" : ""}/${t.plural}`;
    const op = (action: string) => ({ "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk, parameters: queryParams, responses: { "200": { description: "OK" } } });
    paths[base] = { get: op("list"), post: op("post") };
    paths[`${base}/{name}`] = { get: op("get"), put: op("put"), patch: op("patch"), delete: op("delete") };
    const schemaName = `${group ? group.split(".").reverse().join(".") : "io.k8s.api.core"}.${version}.${t.kind}`;
    if (t.custom && t.schema) schemas[schemaName] = { ...t.schema, "x-kubernetes-group-version-kind": [gvk] };
  }
  return { openapi: "3.0.0", info: { title: "Kubernetes (Herald simulator)", version: "v1.32.0" }, paths, components: { schemas } };
}

export function openapiRoot(types: ResourceType[]): object {
  const paths: Record<string, object> = {};
  for (const [group, versions] of groupVersions(types)) {
    for (const version of versions) {
      const hash = createHash("sha256").update(JSON.stringify(docFor(types, group, version))).digest("hex").slice(0, 32).toUpperCase();
      paths[gvPath(group, version)] = { serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${hash}` };
    }
  }
  return { paths };
}

/** The document for "/openapi/v3/api/v1" or "/openapi/v3/apis/<group>/<version>", or undefined. */
export function openapiDocument(types: ResourceType[], subPath: string): object | undefined {
  const m = /^(?:api\/(v[^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(subPath);
  if (!m) return undefined;
  const group = m[1] ? "" : m[2]!;
  const version = m[1] ?? m[3]!;
  if (!types.some((t) => t.group === group && t.version === version)) return undefined;
  return docFor(types, group, version);
}
