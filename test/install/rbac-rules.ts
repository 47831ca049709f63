// RBAC rules as flat grants, and whether a request is allowed by them: what the API server decides,
// written out so that tests can compare a component's rules with what it really did (audit log).

export interface Grant {
  /** "cluster" for rules bound by a ClusterRoleBinding (every namespace and cluster-scoped objects), else the namespace. */
  scope: string;
  group: string;
  /** `resource` or `resource/subresource`. */
  resource: string;
  verb: string;
  /** Only these object names, when the rule lists resourceNames. */
  names?: string[];
}

export interface RequestLike {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

/** The grants that Roles/ClusterRoles and their bindings among `objects` give one subject. */
export function grantsOf(objects: any[], subject: { kind: string; namespace: string; name: string }): Grant[] {
  const out: Grant[] = [];
  const find = (kind: string, name: string, ns?: string) => objects.find((o) => o?.kind === kind && o.metadata?.name === name && (ns === undefined || o.metadata?.namespace === ns));
  for (const b of objects.filter((o) => o?.kind === "ClusterRoleBinding" || o?.kind === "RoleBinding")) {
    const bindingNs: string | undefined = b.metadata.namespace;
    const matches = (b.subjects ?? []).some((s: any) => s.kind === subject.kind && s.name === subject.name && (s.namespace ?? bindingNs) === subject.namespace);
    if (!matches) continue;
    const role = b.roleRef.kind === "ClusterRole" ? find("ClusterRole", b.roleRef.name) : find("Role", b.roleRef.name, bindingNs);
    if (!role) throw new Error(`${b.kind} ${b.metadata.name} refers to a missing ${b.roleRef.kind} ${b.roleRef.name}`);
    const scope = b.kind === "ClusterRoleBinding" ? "cluster" : bindingNs!;
    for (const r of (role.rules ?? []) as Rule[])
      for (const group of r.apiGroups ?? [])
        for (const resource of r.resources ?? [])
          for (const verb of r.verbs ?? []) out.push({ scope, group, resource, verb, ...(r.resourceNames?.length ? { names: r.resourceNames } : {}) });
  }
  return out;
}

export function allowedBy(grants: Grant[], req: RequestLike): boolean {
  const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  return grants.some(
    (g) =>
      (g.scope === "cluster" || g.scope === req.namespace) &&
      (g.group === "*" || g.group === req.group) &&
      (g.resource === "*" || g.resource === resource) &&
      (g.verb === "*" || g.verb === req.verb) &&
      (!g.names || (req.name !== undefined && g.names.includes(req.name))),
  );
}

/** Rules of Roles/ClusterRoles as comparable strings, one per (kind/name, group, resource, verb, names). */
export function ruleStrings(objects: any[]): string[] {
  const out: string[] = [];
  for (const o of objects.filter((x) => x?.kind === "Role" || x?.kind === "ClusterRole"))
    for (const r of (o.rules ?? []) as Rule[])
      for (const group of r.apiGroups ?? [])
        for (const resource of r.resources ?? [])
          for (const verb of r.verbs ?? []) out.push(`${o.kind}/${o.metadata.name} ${group || "core"} ${resource} ${verb}${r.resourceNames?.length ? ` [${r.resourceNames.join(",")}]` : ""}`);
  return out.sort();
}
