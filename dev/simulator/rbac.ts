// RBAC authorization decisions (pure): does an identity's bound Roles/ClusterRoles allow a request?
import type { Obj } from "./objects.js";

export interface Identity {
  username: string;
  groups: string[];
  /** Set for service-account identities. */
  serviceAccount?: { namespace: string; name: string };
}

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface RbacObjects {
  roles: Obj[];
  roleBindings: Obj[];
  clusterRoles: Obj[];
  clusterRoleBindings: Obj[];
}

function subjectMatches(subject: Obj, who: Identity, bindingNamespace: string | undefined): boolean {
  switch (subject.kind) {
    case "User":
      return subject.name === who.username;
    case "Group":
      return who.groups.includes(subject.name);
    case "ServiceAccount":
      return (
        who.serviceAccount !== undefined &&
        who.serviceAccount.name === subject.name &&
        who.serviceAccount.namespace === (subject.namespace ?? bindingNamespace)
      );
    default:
      return false;
  }
}

const matchesOrStar = (list: string[] | undefined, value: string) => Array.isArray(list) && (list.includes("*") || list.includes(value));

function ruleAllows(rule: Obj, req: ResourceAttributes): boolean {
  const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  if (!matchesOrStar(rule.verbs, req.verb)) return false;
  if (!matchesOrStar(rule.apiGroups, req.group)) return false;
  const resources: string[] = rule.resources ?? [];
  const resourceOk = resources.includes("*") || resources.includes(resource) || (req.subresource !== undefined && resources.includes(`*/${req.subresource}`));
  if (!resourceOk) return false;
  if (Array.isArray(rule.resourceNames) && rule.resourceNames.length > 0) return req.name !== undefined && rule.resourceNames.includes(req.name);
  return true;
}

function rulesOf(roleRef: Obj, namespace: string | undefined, objects: RbacObjects): Obj[] {
  if (roleRef?.kind === "ClusterRole") return objects.clusterRoles.find((r) => r.metadata.name === roleRef.name)?.rules ?? [];
  if (roleRef?.kind === "Role") return objects.roles.find((r) => r.metadata.name === roleRef.name && r.metadata.namespace === namespace)?.rules ?? [];
  return [];
}

export function rbacAllows(who: Identity, req: ResourceAttributes, objects: RbacObjects): boolean {
  if (who.groups.includes("system:masters")) return true;
  for (const b of objects.clusterRoleBindings) {
    if (!(b.subjects ?? []).some((s: Obj) => subjectMatches(s, who, undefined))) continue;
    if (rulesOf(b.roleRef, undefined, objects).some((r) => ruleAllows(r, req))) return true;
  }
  if (req.namespace) {
    for (const b of objects.roleBindings) {
      if (b.metadata.namespace !== req.namespace) continue;
      if (!(b.subjects ?? []).some((s: Obj) => subjectMatches(s, who, b.metadata.namespace))) continue;
      if (rulesOf(b.roleRef, b.metadata.namespace, objects).some((r) => ruleAllows(r, req))) return true;
    }
  }
  return false;
}

export function forbiddenMessage(who: Identity, req: ResourceAttributes): string {
  const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  const where = req.namespace ? `in the namespace "${req.namespace}"` : "at the cluster scope";
  const qualified = req.group ? `${resource}.${req.group}` : resource;
  const named = req.name ? ` "${req.name}"` : "";
  return `${qualified}${named} is forbidden: User "${who.username}" cannot ${req.verb} resource "${resource}" in API group "${req.group}" ${where}`;
}
