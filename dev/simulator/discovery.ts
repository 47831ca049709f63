// Discovery documents (/version, /api, /apis, resource lists) built from the served types (pure).
import { apiVersionOf, groupVersions, type ResourceType } from "./resources.js";

export function versionInfo(): object {
  return {
    major: "1",
    minor: "32",
    gitVersion: "v1.32.0-herald-sim",
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "go1.23.0",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

export function coreVersions(serverAddress: string): object {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

function groupDoc(group: string, versions: string[]): object {
  const entries = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: entries, preferredVersion: entries[0] };
}

export function apiGroupList(types: ResourceType[]): object {
  const groups = [...groupVersions(types).entries()].filter(([g]) => g !== "");
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(([g, v]) => groupDoc(g, v)) };
}

export function apiGroup(types: ResourceType[], group: string): object | undefined {
  const versions = groupVersions(types).get(group);
  return versions && { kind: "APIGroup", apiVersion: "v1", ...groupDoc(group, versions) };
}

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export function resourceList(types: ResourceType[], group: string, version: string): object | undefined {
  const inGv = types.filter((t) => t.group === group && t.version === version);
  if (inGv.length === 0) return undefined;
  const resources: object[] = [];
  for (const t of inGv) {
    const verbs = t.kind === "SelfSubjectAccessReview" ? ["create"] : VERBS;
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs,
      ...(t.shortNames?.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories?.length ? { categories: t.categories } : {}),
      storageVersionHash: Buffer.from(t.storageKey).toString("base64").slice(0, 11),
    });
    if (t.status) resources.push({ name: `${t.plural}/status`, singularName: "", namespaced: t.namespaced, kind: t.kind, verbs: ["get", "patch", "update"] });
    if (t.scale)
      resources.push({ name: `${t.plural}/scale`, singularName: "", namespaced: t.namespaced, group: "autoscaling", version: "v1", kind: "Scale", verbs: ["get", "patch", "update"] });
    for (const sub of t.extraSubresources ?? [])
      resources.push(
        sub === "eviction"
          ? { name: `${t.plural}/eviction`, singularName: "", namespaced: t.namespaced, group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] }
          : { name: `${t.plural}/${sub}`, singularName: "", namespaced: t.namespaced, kind: t.kind, verbs: ["get"] },
      );
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: apiVersionOf({ group, version }), resources };
}
