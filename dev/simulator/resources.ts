// The resource types the simulator serves: the built-ins, and those derived from CustomResourceDefinitions.
import type { Obj } from "./objects.js";

export interface ScaleSpec {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status: boolean;
  scale?: ScaleSpec;
  /** openAPIV3Schema of a custom resource; absent for built-ins (not validated). */
  schema?: Obj;
  printerColumns?: PrinterColumn[];
  /** True for kinds defined by a CRD. */
  custom: boolean;
  /** Storage key shared by every served version of the same resource. */
  storageKey: string;
  /** Extra subresources listed in discovery (e.g. pods/log). */
  extraSubresources?: string[];
}

export function apiVersionOf(t: { group: string; version: string }): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

function builtin(group: string, version: string, kind: string, plural: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType {
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    status: false,
    custom: false,
    storageKey: `${group}/${plural}`,
    ...extra,
  };
}

const replicasScale: ScaleSpec = { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" };

export const BUILTIN_TYPES: ResourceType[] = [
  builtin("", "v1", "Namespace", "namespaces", false, { shortNames: ["ns"], status: true }),
  builtin("", "v1", "ConfigMap", "configmaps", true, { shortNames: ["cm"] }),
  builtin("", "v1", "Secret", "secrets", true),
  builtin("", "v1", "Service", "services", true, { shortNames: ["svc"], status: true, categories: ["all"] }),
  builtin("", "v1", "Endpoints", "endpoints", true, { shortNames: ["ep"], singular: "endpoints" }),
  builtin("", "v1", "Pod", "pods", true, { shortNames: ["po"], status: true, categories: ["all"], extraSubresources: ["log", "eviction"] }),
  builtin("", "v1", "Event", "events", true, { shortNames: ["ev"] }),
  builtin("", "v1", "ServiceAccount", "serviceaccounts", true, { shortNames: ["sa"] }),
  builtin("", "v1", "Node", "nodes", false, { shortNames: ["no"], status: true }),
  builtin("apps", "v1", "StatefulSet", "statefulsets", true, { shortNames: ["sts"], status: true, scale: replicasScale, categories: ["all"] }),
  builtin("apps", "v1", "Deployment", "deployments", true, { shortNames: ["deploy"], status: true, scale: replicasScale, categories: ["all"] }),
  builtin("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
  builtin("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true),
  builtin("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false),
  builtin("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false),
  builtin("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, { shortNames: ["pdb"], status: true }),
  builtin("networking.k8s.io", "v1", "Ingress", "ingresses", true, { shortNames: ["ing"], status: true }),
  builtin("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false),
  builtin("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, { shortNames: ["hpa"], status: true, categories: ["all"] }),
  builtin("coordination.k8s.io", "v1", "Lease", "leases", true),
  builtin("events.k8s.io", "v1", "Event", "events", true, { shortNames: ["ev"] }),
  builtin("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false, { shortNames: ["crd", "crds"], status: true }),
  builtin("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", false),
];

/** The resource types a CustomResourceDefinition defines (one per served version). */
export function typesFromCrd(crd: Obj): ResourceType[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  return (spec.versions ?? [])
    .filter((v: Obj) => v.served !== false)
    .map(
      (v: Obj): ResourceType => ({
        group: spec.group,
        version: v.name,
        kind: names.kind,
        plural: names.plural,
        singular: names.singular ?? String(names.kind).toLowerCase(),
        namespaced: spec.scope !== "Cluster",
        shortNames: names.shortNames,
        categories: names.categories,
        status: Boolean(v.subresources?.status),
        scale: v.subresources?.scale,
        schema: v.schema?.openAPIV3Schema,
        printerColumns: v.additionalPrinterColumns,
        custom: true,
        storageKey: `${spec.group}/${names.plural}`,
      }),
    );
}

export interface GroupVersion {
  group: string;
  version: string;
}

/** Groups and their versions in serving order (preferred version first). */
export function groupVersions(types: ResourceType[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const t of types) {
    const versions = groups.get(t.group) ?? [];
    if (!versions.includes(t.version)) versions.push(t.version);
    groups.set(t.group, versions);
  }
  for (const versions of groups.values()) versions.sort(compareKubeVersions);
  return groups;
}

/** Orders versions as Kubernetes does: GA before beta before alpha, higher numbers first. */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    const stage = m[2] === "alpha" ? 1 : m[2] === "beta" ? 2 : 3;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const [sa, ma, na] = parse(a);
  const [sb, mb, nb] = parse(b);
  return sb! - sa! || mb! - ma! || nb! - na! || a.localeCompare(b);
}
