// Endpoints of a Service computed from its pods (pure), the way the endpoints controller does.
import type { Obj } from "./objects.js";
import { matchesMapSelector } from "./selectors.js";

export function isPodReady(pod: Obj): boolean {
  return (pod.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
}

/** The container port a Service targetPort designates in a pod (number, or a named container port). */
export function resolveTargetPort(pod: Obj, targetPort: number | string | undefined, fallback: number): number | undefined {
  if (targetPort === undefined) return fallback;
  if (typeof targetPort === "number") return targetPort;
  if (/^\d+$/.test(targetPort)) return Number(targetPort);
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === targetPort) return p.containerPort;
  return undefined;
}

/** The `subsets` of the Endpoints object of `service` given all pods of its namespace. */
export function endpointSubsets(service: Obj, pods: Obj[]): Obj[] {
  const selected = pods.filter((p) => matchesMapSelector(service.spec?.selector, p.metadata?.labels) && p.status?.podIP && !p.metadata?.deletionTimestamp);
  const bySignature = new Map<string, { ports: Obj[]; addresses: Obj[]; notReadyAddresses: Obj[] }>();
  for (const pod of selected) {
    const ports: Obj[] = [];
    for (const sp of service.spec?.ports ?? []) {
      const port = resolveTargetPort(pod, sp.targetPort, sp.port);
      if (port !== undefined) ports.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? "TCP" });
    }
    if (ports.length === 0) continue;
    const key = JSON.stringify(ports);
    const entry = bySignature.get(key) ?? { ports, addresses: [], notReadyAddresses: [] };
    const address = {
      ip: pod.status.podIP,
      ...(pod.spec?.hostname ? { hostname: pod.spec.hostname } : {}),
      nodeName: pod.spec?.nodeName,
      targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    };
    const ready = isPodReady(pod) || service.spec?.publishNotReadyAddresses === true;
    (ready ? entry.addresses : entry.notReadyAddresses).push(address);
    bySignature.set(key, entry);
  }
  return [...bySignature.values()].map((s) => ({
    ...(s.addresses.length ? { addresses: s.addresses.sort((a, b) => a.ip.localeCompare(b.ip)) } : {}),
    ...(s.notReadyAddresses.length ? { notReadyAddresses: s.notReadyAddresses.sort((a, b) => a.ip.localeCompare(b.ip)) } : {}),
    ports: s.ports,
  }));
}
