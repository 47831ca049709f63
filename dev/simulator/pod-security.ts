// PodSecurity admission (pure): the Pod Security Standards' baseline and restricted checks, as the
// built-in admission plugin runs them from a namespace's labels
// (pod-security.kubernetes.io/enforce | warn: privileged, baseline, restricted; -version: latest or
// v1.N). Each check says what it found in the real plugin's words; the message joins them in the
// order of the checks' ids, as the plugin does.
import type { Obj } from "./objects.js";

export type Level = "privileged" | "baseline" | "restricted";
const LEVELS: Level[] = ["privileged", "baseline", "restricted"];

interface Check {
  id: string;
  level: "baseline" | "restricted";
  /** The violation ("forbidden reason (detail)"), or null. */
  run: (pod: PodView) => string | null;
}

interface PodView {
  spec: Obj;
  containers: Obj[];
}

const quote = (names: string[]) => names.map((n) => JSON.stringify(n)).join(", ");
const containersPhrase = (names: string[]) => `${names.length === 1 ? "container" : "containers"} ${quote(names)}`;
const named = (cs: Obj[], bad: (c: Obj) => boolean) => cs.filter(bad).map((c) => String(c.name));

/** Baseline capabilities a container may add (the Docker defaults). */
const BASELINE_CAPS = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
const RESTRICTED_VOLUMES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);

const CHECKS: Check[] = [
  {
    id: "allowPrivilegeEscalation",
    level: "restricted",
    run: ({ containers }) => {
      const bad = named(containers, (c) => c.securityContext?.allowPrivilegeEscalation !== false);
      return bad.length ? `allowPrivilegeEscalation != false (${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false)` : null;
    },
  },
  {
    id: "capabilities_baseline",
    level: "baseline",
    run: ({ containers }) => {
      const found = containers.flatMap((c) => ((c.securityContext?.capabilities?.add ?? []) as string[]).filter((cap) => !BASELINE_CAPS.has(cap)).map((cap) => [String(c.name), cap] as const));
      if (!found.length) return null;
      const names = [...new Set(found.map(([n]) => n))];
      const caps = [...new Set(found.map(([, cap]) => cap))];
      return `non-default capabilities (${containersPhrase(names)} must not include ${quote(caps)} in securityContext.capabilities.add)`;
    },
  },
  {
    id: "capabilities_restricted",
    level: "restricted",
    run: ({ containers }) => {
      const noDrop = named(containers, (c) => !((c.securityContext?.capabilities?.drop ?? []) as string[]).includes("ALL"));
      const adds = containers.flatMap((c) => ((c.securityContext?.capabilities?.add ?? []) as string[]).filter((cap) => cap !== "NET_BIND_SERVICE").map((cap) => [String(c.name), cap] as const));
      const parts: string[] = [];
      if (noDrop.length) parts.push(`${containersPhrase(noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
      if (adds.length) parts.push(`${containersPhrase([...new Set(adds.map(([n]) => n))])} must not include ${quote([...new Set(adds.map(([, c]) => c))])} in securityContext.capabilities.add`);
      return parts.length ? `unrestricted capabilities (${parts.join("; ")})` : null;
    },
  },
  {
    id: "hostNamespaces",
    level: "baseline",
    run: ({ spec }) => {
      const set = (["hostNetwork", "hostPID", "hostIPC"] as const).filter((k) => spec[k] === true);
      return set.length ? `host namespaces (${set.map((k) => `${k}=true`).join(", ")})` : null;
    },
  },
  {
    id: "hostPathVolumes",
    level: "baseline",
    run: ({ spec }) => {
      const vols = ((spec.volumes ?? []) as Obj[]).filter((v) => v.hostPath).map((v) => String(v.name));
      return vols.length ? `hostPath volumes (${vols.length === 1 ? "volume" : "volumes"} ${quote(vols)})` : null;
    },
  },
  {
    id: "hostPorts",
    level: "baseline",
    run: ({ containers }) => {
      const found = containers.flatMap((c) => ((c.ports ?? []) as Obj[]).filter((p) => p.hostPort).map((p) => [String(c.name), p.hostPort] as const));
      if (!found.length) return null;
      const names = [...new Set(found.map(([n]) => n))];
      return `hostPort (${containersPhrase(names)} ${names.length === 1 ? "uses" : "use"} ${found.length === 1 ? "hostPort" : "hostPorts"} ${found.map(([, p]) => p).join(", ")})`;
    },
  },
  {
    id: "privileged",
    level: "baseline",
    run: ({ containers }) => {
      const bad = named(containers, (c) => c.securityContext?.privileged === true);
      return bad.length ? `privileged (${containersPhrase(bad)} must not set securityContext.privileged=true)` : null;
    },
  },
  {
    id: "restrictedVolumes",
    level: "restricted",
    run: ({ spec }) => {
      const found = ((spec.volumes ?? []) as Obj[]).flatMap((v) => {
        const type = Object.keys(v).find((k) => k !== "name");
        return type && !RESTRICTED_VOLUMES.has(type) ? [[String(v.name), type] as const] : [];
      });
      if (!found.length) return null;
      return `restricted volume types (${found.length === 1 ? "volume" : "volumes"} ${quote(found.map(([n]) => n))} ${found.length === 1 ? "uses" : "use"} restricted volume ${found.length === 1 ? "type" : "types"} ${quote([...new Set(found.map(([, t]) => t))])})`;
    },
  },
  {
    id: "runAsNonRoot",
    level: "restricted",
    run: ({ spec, containers }) => {
      const pod = spec.securityContext?.runAsNonRoot;
      if (pod === false) return "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)";
      const explicitFalse = named(containers, (c) => c.securityContext?.runAsNonRoot === false);
      if (explicitFalse.length) return `runAsNonRoot != true (${containersPhrase(explicitFalse)} must not set securityContext.runAsNonRoot=false)`;
      if (pod === true) return null;
      const unset = named(containers, (c) => c.securityContext?.runAsNonRoot !== true);
      return unset.length ? `runAsNonRoot != true (pod or ${containersPhrase(unset)} must set securityContext.runAsNonRoot=true)` : null;
    },
  },
  {
    id: "runAsUser",
    level: "restricted",
    run: ({ spec, containers }) => {
      if (spec.securityContext?.runAsUser === 0) return "runAsUser=0 (pod must not set runAsUser=0)";
      const bad = named(containers, (c) => c.securityContext?.runAsUser === 0);
      return bad.length ? `runAsUser=0 (${containersPhrase(bad)} must not set runAsUser=0)` : null;
    },
  },
  {
    id: "seccompProfile_baseline",
    level: "baseline",
    run: ({ spec, containers }) => {
      if (spec.securityContext?.seccompProfile?.type === "Unconfined") return 'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")';
      const bad = named(containers, (c) => c.securityContext?.seccompProfile?.type === "Unconfined");
      return bad.length ? `seccompProfile (${containersPhrase(bad)} must not set securityContext.seccompProfile.type to "Unconfined")` : null;
    },
  },
  {
    id: "seccompProfile_restricted",
    level: "restricted",
    run: ({ spec, containers }) => {
      const ok = (t: unknown) => t === "RuntimeDefault" || t === "Localhost";
      if (spec.securityContext?.seccompProfile?.type === "Unconfined") return null; // the baseline check says it
      if (ok(spec.securityContext?.seccompProfile?.type)) return null;
      const bad = named(containers, (c) => !ok(c.securityContext?.seccompProfile?.type) && c.securityContext?.seccompProfile?.type !== "Unconfined");
      return bad.length ? `seccompProfile (pod or ${containersPhrase(bad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")` : null;
    },
  },
];

/** The violations of a pod spec at a level, in the plugin's order (empty: it passes). */
export function podSecurityViolations(level: Level, spec: Obj): string[] {
  if (level === "privileged") return [];
  const view: PodView = { spec, containers: [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])] };
  return CHECKS.filter((c) => level === "restricted" || c.level === "baseline")
    .map((c) => c.run(view))
    .filter((v): v is string => v !== null);
}

export interface NamespacePolicy {
  enforce?: { level: Level; version: string };
  warn?: { level: Level; version: string };
}

/** The policy a namespace's labels set; an unknown level is ignored (the real plugin refuses such a label on the namespace). */
export function namespacePolicy(labels: Record<string, string> | undefined): NamespacePolicy {
  const mode = (m: "enforce" | "warn") => {
    const level = labels?.[`pod-security.kubernetes.io/${m}`] as Level | undefined;
    if (!level || !LEVELS.includes(level)) return undefined;
    return { level, version: labels?.[`pod-security.kubernetes.io/${m}-version`] ?? "latest" };
  };
  const enforce = mode("enforce");
  const warn = mode("warn");
  return { ...(enforce ? { enforce } : {}), ...(warn ? { warn } : {}) };
}

/** What admitting a pod gives: the Forbidden message (enforce), and warnings (warn). */
export function admitPodSecurity(policy: NamespacePolicy, podName: string, spec: Obj): { forbidden?: string; warnings: string[] } {
  const out: { forbidden?: string; warnings: string[] } = { warnings: [] };
  if (policy.enforce) {
    const v = podSecurityViolations(policy.enforce.level, spec);
    if (v.length) out.forbidden = `pods ${JSON.stringify(podName)} is forbidden: violates PodSecurity "${policy.enforce.level}:${policy.enforce.version}": ${v.join(", ")}`;
  }
  if (policy.warn) {
    const v = podSecurityViolations(policy.warn.level, spec);
    if (v.length) out.warnings.push(`would violate PodSecurity "${policy.warn.level}:${policy.warn.version}": ${v.join(", ")}`);
  }
  return out;
}
