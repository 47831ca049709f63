// What should exist for a PushCluster: a pure function of its spec and of a few observed facts.
import { createHash } from "node:crypto";
import { nodeTtlMs as nodeTtl } from "../protocol/nodes.js";
import { FINALIZER, GROUP, NODE_PORT, VERSION, type ExposeType, type KubeObject, type PushCluster, type SecretKeyRef } from "./types.js";

export const names = (pc: PushCluster) => {
  const n = pc.metadata.name;
  return {
    statefulSet: n,
    headless: `${n}-nodes`,
    login: n,
    internal: `${n}-internal`,
    affinity: `${n}-affinity`,
    tokenSecret: `${n}-token`,
    tokenPrevious: `${n}-token-previous`,
    serviceAccount: `${n}-node`,
    role: `${n}-node`,
    pdb: n,
    serviceMonitor: n,
    ingress: n,
    loginRoute: n,
    node: (ordinal: number) => `${n}-${ordinal}`,
  };
};

export function selectorLabels(pc: PushCluster): Record<string, string> {
  return { "app.kubernetes.io/name": "herald", "app.kubernetes.io/instance": pc.metadata.name, "app.kubernetes.io/component": "push-node" };
}

export function labels(pc: PushCluster, component: string): Record<string, string> {
  return { "app.kubernetes.io/name": "herald", "app.kubernetes.io/instance": pc.metadata.name, "app.kubernetes.io/component": component, "app.kubernetes.io/managed-by": "herald-operator", "app.kubernetes.io/part-of": "herald" };
}

export const selectorString = (pc: PushCluster) =>
  Object.entries(selectorLabels(pc))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

export function ownerReference(pc: PushCluster) {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: "PushCluster", name: pc.metadata.name, uid: pc.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export const keyPrefix = (pc: PushCluster) => pc.spec.redis.keyPrefix ?? `${pc.metadata.namespace}.${pc.metadata.name}`;

/** How long the operator counts a node alive after its heartbeat: what the nodes themselves use, from their HERALD_HEARTBEAT_MS and HERALD_NODE_TTL_MS in spec.env. */
export function nodeTtlMs(pc: PushCluster): number {
  const value = (name: string) => {
    const v = Number((pc.spec.env ?? []).find((e) => e.name === name && !e.valueFrom)?.value);
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  return nodeTtl(value("HERALD_HEARTBEAT_MS"), value("HERALD_NODE_TTL_MS"));
}

/** What is wrong with a spec beyond what the CRD schema can say; empty when it is usable. */
export function specProblems(pc: PushCluster): string[] {
  const s = pc.spec;
  const out: string[] = [];
  if (!s.redis?.url === !s.redis?.urlSecretRef) out.push("spec.redis needs exactly one of url or urlSecretRef");
  if (s.auth?.mode === "ticket" && !s.auth.ticketSecretRef === !s.auth.jwksUrl) out.push("spec.auth (ticket) needs exactly one of ticketSecretRef or jwksUrl");
  if (s.auth?.mode === "webhook" && !s.auth.webhookUrl) out.push("spec.auth (webhook) needs webhookUrl");
  const a = s.autoscaling;
  if (a?.enabled && (a.minReplicas ?? 1) > (a.maxReplicas ?? 10)) out.push("spec.autoscaling.minReplicas is above maxReplicas");
  const expose = exposeType(pc);
  const host = s.endpoint?.host;
  if ((expose === "Ingress" || expose === "Gateway" || expose === "NodePort") && !host) out.push(`spec.expose.type ${expose} needs spec.endpoint.host`);
  if ((expose === "Ingress" || expose === "Gateway" || expose === "NodePort") && host?.includes("{node}")) out.push(`spec.expose.type ${expose} cannot route a host template ({node}); use spec.endpoint.pathTemplate`);
  if (expose === "LoadBalancer" && host && !host.includes("{node}")) out.push("spec.expose.type LoadBalancer gives each node its own address: spec.endpoint.host must contain {node} (one DNS name per node), or be left out");
  if (expose === "Gateway" && !s.expose?.gateway?.parentRefs?.length) out.push("spec.expose.type Gateway needs spec.expose.gateway.parentRefs");
  return out;
}

/** The Secrets the pods refer to (except the token Secret the operator generates itself), with the spec field that names each. */
export function secretRefs(pc: PushCluster): Array<{ field: string; name: string; key: string }> {
  const s = pc.spec;
  const out: Array<{ field: string; name: string; key: string }> = [];
  const add = (field: string, ref: SecretKeyRef | undefined, defaultKey: string) => ref && out.push({ field, name: ref.name, key: ref.key ?? defaultKey });
  add("spec.redis.urlSecretRef", s.redis?.urlSecretRef, "url");
  add("spec.redis.tlsCASecretRef", s.redis?.tlsCASecretRef, "ca.crt");
  if (s.auth?.mode === "ticket") add("spec.auth.ticketSecretRef", s.auth.ticketSecretRef, "secret");
  add("spec.auth.tokenSecretRef", s.auth?.tokenSecretRef, "secret");
  add("spec.publishKeysSecretRef", s.publishKeysSecretRef, "keys");
  return out;
}

/** Every Secret and ConfigMap the pods read ("Secret/name", "ConfigMap/name"): a change of any rolls the nodes. */
export function referencedConfig(pc: PushCluster): string[] {
  const s = pc.spec;
  const out = new Set<string>(secretRefs(pc).map((r) => `Secret/${r.name}`));
  out.add(`Secret/${s.auth?.tokenSecretRef?.name ?? names(pc).tokenSecret}`);
  for (const e of s.env ?? []) {
    const v = e.valueFrom as { secretKeyRef?: { name?: string }; configMapKeyRef?: { name?: string } } | undefined;
    if (v?.secretKeyRef?.name) out.add(`Secret/${v.secretKeyRef.name}`);
    if (v?.configMapKeyRef?.name) out.add(`ConfigMap/${v.configMapKeyRef.name}`);
  }
  for (const vol of s.pod?.volumes ?? []) {
    const v = vol as { secret?: { secretName?: string }; configMap?: { name?: string }; projected?: { sources?: Array<{ secret?: { name?: string }; configMap?: { name?: string } }> } };
    if (v.secret?.secretName) out.add(`Secret/${v.secret.secretName}`);
    if (v.configMap?.name) out.add(`ConfigMap/${v.configMap.name}`);
    for (const src of v.projected?.sources ?? []) {
      if (src.secret?.name) out.add(`Secret/${src.secret.name}`);
      if (src.configMap?.name) out.add(`ConfigMap/${src.configMap.name}`);
    }
  }
  return [...out].sort();
}

/** A short hash of the referenced Secrets' and ConfigMaps' contents (null for one that does not exist). */
export function configHash(contents: ReadonlyMap<string, Record<string, string> | null>): string {
  const entries = [...contents.entries()].sort(([a], [b]) => a.localeCompare(b));
  return createHash("sha256").update(JSON.stringify(entries)).digest("hex").slice(0, 10);
}

/**
 * What is missing among the Secrets the spec refers to (`secrets`: name → its data, or null when the
 * Secret does not exist); null when all are there. The message names each Secret and key.
 */
export function missingSecrets(pc: PushCluster, secrets: ReadonlyMap<string, Record<string, string> | null>): string | null {
  const ns = pc.metadata.namespace;
  const missing = secretRefs(pc).flatMap((r) => {
    const data = secrets.get(r.name);
    if (!data) return [`Secret ${ns}/${r.name} (${r.field}) does not exist`];
    if (!data[r.key]) return [`Secret ${ns}/${r.name} has no key "${r.key}" (${r.field})`];
    return [];
  });
  return missing.length ? `${[...new Set(missing)].join("; ")}: create it, or fix the reference` : null;
}

/** How clients reach the nodes: spec.expose.type, or Ingress for the older spec.endpoint.ingress.enabled. */
export function exposeType(pc: PushCluster): ExposeType {
  return pc.spec.expose?.type ?? (pc.spec.endpoint?.ingress?.enabled ? "Ingress" : "ClusterIP");
}

/** The Socket.IO path a node serves, and the public URL clients use for it (when a host is set). */
export function nodeRoute(pc: PushCluster, node: string): { path: string; publicUrl: string | null } {
  const e = pc.spec.endpoint;
  const prefix = e?.host ? (e.pathTemplate ?? "/n/{node}") : "";
  const path = `${prefix.replaceAll("{node}", node)}/socket.io`;
  return { path, publicUrl: e?.host ? `${e.scheme ?? "https"}://${e.host.replaceAll("{node}", node)}${e.port ? `:${e.port}` : ""}` : null };
}

const hostPort = (host: string, port?: number) => `${host.includes(":") ? `[${host}]` : host}${port && port !== 80 ? `:${port}` : ""}`;

/**
 * Where clients reach a node (its `url` and `path` in the affinity document), from the spec and the
 * node's live Service; null while it is not known yet (no load balancer address, no node port). Ingress
 * and Gateway: the public host and the node's path; LoadBalancer: the Service's load balancer address
 * (or the node's own DNS name when the host holds {node}); NodePort: the host with the node port;
 * ClusterIP: the Service's cluster IP (reachable inside the cluster only).
 */
export function nodeAddress(pc: PushCluster, node: string, svc: any): { url: string; path: string } | null {
  const r = nodeRoute(pc, node);
  const e = pc.spec.endpoint;
  const port = (svc?.spec?.ports ?? []).find((p: any) => p.name === "http") ?? svc?.spec?.ports?.[0];
  switch (exposeType(pc)) {
    case "NodePort":
      return e?.host && port?.nodePort ? { url: `${e.scheme ?? "https"}://${hostPort(e.host, port.nodePort)}`, path: r.path } : null;
    case "LoadBalancer": {
      if (r.publicUrl) return { url: r.publicUrl, path: r.path };
      const lb = svc?.status?.loadBalancer?.ingress?.[0];
      const addr: string | undefined = lb?.ip ?? lb?.hostname;
      return addr ? { url: `http://${hostPort(addr, port?.port)}`, path: r.path } : null;
    }
    case "Ingress":
    case "Gateway":
      return r.publicUrl ? { url: r.publicUrl, path: r.path } : null;
    default: {
      if (r.publicUrl) return { url: r.publicUrl, path: r.path };
      const ip = svc?.spec?.clusterIP;
      return ip && ip !== "None" ? { url: `http://${hostPort(ip, port?.port)}`, path: r.path } : null;
    }
  }
}

/** What ingress-nginx needs for long-lived WebSockets: timeouts longer than any idle gap, no response buffering. */
export const INGRESS_NGINX_ANNOTATIONS: Record<string, string> = {
  "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
  "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
  "nginx.ingress.kubernetes.io/proxy-buffering": "off",
};

/** The pods' defaults: what PodSecurity's `restricted` level asks (spec.pod.securityContext and containerSecurityContext are merged over them). */
export const POD_SECURITY = { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } };
export const CONTAINER_SECURITY = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };
const REDIS_CA_VOLUME = "redis-ca";
const REDIS_CA_DIR = "/etc/herald/redis-ca";

const secretEnv = (name: string, ref: SecretKeyRef, defaultKey: string) => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key ?? defaultKey } } });

/** What shapes the pods besides the spec: observed, passed in by the decide step. */
export interface TemplateInputs {
  /** configHash() of the referenced Secrets and ConfigMaps. */
  configHash?: string;
  /** `kubectl rollout restart` stamps the StatefulSet's template with this annotation: a drained roll. */
  restartedAt?: string;
  /** A token secret rotation is rolling: the pods also get the previous secret (HERALD_TOKEN_SECRET_PREVIOUS); not part of the hash. */
  previousTokenSecret?: boolean;
}

export const RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";
export const CONFIG_HASH = "herald.dev/config-hash";

export function podTemplate(pc: PushCluster, inputs: TemplateInputs = {}): { template: Record<string, unknown>; hash: string } {
  const s = pc.spec;
  const n = names(pc);
  const grace = s.drainGracePeriodSeconds ?? 60;
  const env: unknown[] = [
    { name: "HERALD_NODE_ID", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: "HOST", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    { name: "PORT", value: String(NODE_PORT) },
    { name: "HERALD_SOCKET_PATH", value: nodeRoute(pc, "{node}").path },
    { name: "HERALD_PUBLIC_URL", value: nodeRoute(pc, "{node}").publicUrl ?? `http://{node}.${n.headless}.${pc.metadata.namespace}.svc:${NODE_PORT}` },
    s.redis.urlSecretRef ? secretEnv("REDIS_URL", s.redis.urlSecretRef, "url") : { name: "REDIS_URL", value: s.redis.url },
    { name: "REDIS_MODE", value: s.redis.mode ?? "standalone" },
    { name: "HERALD_KEY_PREFIX", value: keyPrefix(pc) },
    { name: "HERALD_AUTH_MODE", value: s.auth.mode },
    secretEnv("HERALD_TOKEN_SECRET", s.auth.tokenSecretRef ?? { name: n.tokenSecret }, "secret"),
    { name: "HERALD_TOKEN_TTL_SECONDS", value: String(s.auth.tokenTtlSeconds ?? 600) },
    secretEnv("HERALD_PUBLISH_KEYS", s.publishKeysSecretRef, "keys"),
    { name: "HERALD_AFFINITY_CONFIGMAP", value: n.affinity },
    { name: "HERALD_SHUTDOWN_GRACE_MS", value: String(grace * 1000) },
  ];
  if (inputs.previousTokenSecret) env.push({ name: "HERALD_TOKEN_SECRET_PREVIOUS", valueFrom: { secretKeyRef: { name: n.tokenPrevious, key: "previous", optional: true } } });
  if (s.auth.ticketSecretRef) env.push(secretEnv("HERALD_TICKET_SECRET", s.auth.ticketSecretRef, "secret"));
  if (s.auth.jwksUrl) env.push({ name: "HERALD_TICKET_JWKS_URL", value: s.auth.jwksUrl });
  if (s.auth.issuer) env.push({ name: "HERALD_TICKET_ISSUER", value: s.auth.issuer });
  if (s.auth.audience) env.push({ name: "HERALD_TICKET_AUDIENCE", value: s.auth.audience });
  if (s.auth.webhookUrl) env.push({ name: "HERALD_WEBHOOK_URL", value: s.auth.webhookUrl });
  const pod = s.pod ?? {};
  const volumes: unknown[] = [...(pod.volumes ?? [])];
  const volumeMounts: unknown[] = [...(pod.volumeMounts ?? [])];
  if (s.redis.tlsCASecretRef) {
    const ref = s.redis.tlsCASecretRef;
    volumes.push({ name: REDIS_CA_VOLUME, secret: { secretName: ref.name, items: [{ key: ref.key ?? "ca.crt", path: "ca.crt" }] } });
    volumeMounts.push({ name: REDIS_CA_VOLUME, mountPath: REDIS_CA_DIR, readOnly: true });
    env.push({ name: "REDIS_TLS_CA_FILE", value: `${REDIS_CA_DIR}/ca.crt` });
  }
  for (const e of s.env ?? []) env.push(e.valueFrom ? { name: e.name, valueFrom: e.valueFrom } : { name: e.name, value: e.value ?? "" });

  const probe = (path: string, period: number) => ({ httpGet: { path, port: "http" }, periodSeconds: period, timeoutSeconds: 2, failureThreshold: 3 });
  const spec = {
    serviceAccountName: n.serviceAccount,
    terminationGracePeriodSeconds: grace + 10,
    securityContext: { ...POD_SECURITY, ...(pod.securityContext ?? {}) },
    ...(pod.affinity ? { affinity: pod.affinity } : {}),
    ...(pod.tolerations?.length ? { tolerations: pod.tolerations } : {}),
    ...(pod.nodeSelector && Object.keys(pod.nodeSelector).length ? { nodeSelector: pod.nodeSelector } : {}),
    ...(pod.topologySpreadConstraints?.length ? { topologySpreadConstraints: pod.topologySpreadConstraints } : {}),
    ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
    ...(pod.imagePullSecrets?.length ? { imagePullSecrets: pod.imagePullSecrets } : {}),
    ...(volumes.length ? { volumes } : {}),
    containers: [
      {
        name: "push-node",
        image: s.image ?? "ghcr.io/herald-push/herald:0.1.0",
        imagePullPolicy: s.imagePullPolicy ?? "IfNotPresent",
        command: ["herald"],
        args: ["push-node"],
        ports: [{ name: "http", containerPort: NODE_PORT, protocol: "TCP" }],
        env,
        resources: s.resources ?? {},
        readinessProbe: probe("/readyz", 2),
        livenessProbe: probe("/healthz", 10),
        ...(volumeMounts.length ? { volumeMounts } : {}),
        securityContext: { ...CONTAINER_SECURITY, ...(pod.containerSecurityContext ?? {}) },
      },
    ],
  };
  // The drain grace period takes effect for draining at once and in pods when they are next replaced:
  // it is not part of the hash, so changing it alone rolls nothing. Nor is the previous token secret,
  // given to the pods only while a rotation rolls (the rotated Secret's contents already roll them).
  const unhashed = new Set(["HERALD_SHUTDOWN_GRACE_MS", "HERALD_TOKEN_SECRET_PREVIOUS"]);
  const graceless = { ...spec, terminationGracePeriodSeconds: 0, containers: spec.containers.map((c) => ({ ...c, env: c.env.filter((e) => !unhashed.has((e as { name: string }).name)) })) };
  const extra = { ...(pod.labels || pod.annotations ? { labels: pod.labels, annotations: pod.annotations } : {}), ...(inputs.configHash ? { config: inputs.configHash } : {}), ...(inputs.restartedAt ? { restartedAt: inputs.restartedAt } : {}) };
  const hash = createHash("sha256").update(JSON.stringify(Object.keys(extra).length ? { spec: graceless, ...extra } : graceless)).digest("hex").slice(0, 10);
  const metadata = {
    labels: { ...(pod.labels ?? {}), ...labels(pc, "push-node"), "herald.dev/template-hash": hash },
    annotations: {
      ...(pod.annotations ?? {}),
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(NODE_PORT),
      ...(inputs.configHash ? { [CONFIG_HASH]: inputs.configHash } : {}),
      ...(inputs.restartedAt ? { [RESTARTED_AT]: inputs.restartedAt } : {}),
    },
  };
  return { template: { metadata, spec }, hash };
}

export interface DesiredFacts {
  /** The StatefulSet's replica count the scaling decision chose. */
  replicas: number;
  /** Node names (pods) that get a per-node Service: ordinals 0..max(current, desired)-1. */
  nodes: string[];
  /** Whether the monitoring.coreos.com ServiceMonitor CRD is installed. */
  serviceMonitorCrd: boolean;
  /** Observed inputs of the pod template. */
  template?: TemplateInputs;
}

/** Every object the operator owns for this PushCluster except the affinity ConfigMap and the token Secret. */
export function desiredObjects(pc: PushCluster, facts: DesiredFacts): KubeObject[] {
  const n = names(pc);
  const ns = pc.metadata.namespace;
  const owner = [ownerReference(pc)];
  const meta = (name: string, component: string, extra: Record<string, unknown> = {}) => ({ name, namespace: ns, labels: labels(pc, component), ownerReferences: owner, ...extra });
  const sel = selectorLabels(pc);
  const port = { name: "http", port: 80, targetPort: "http", protocol: "TCP" };
  const { template } = podTemplate(pc, facts.template);
  const expose = exposeType(pc);
  const svcAnnotations = pc.spec.expose?.service?.annotations;
  const nodeServiceAnnotations = (expose === "LoadBalancer" || expose === "NodePort") && svcAnnotations && Object.keys(svcAnnotations).length ? { annotations: svcAnnotations } : {};
  const out: KubeObject[] = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(n.serviceAccount, "push-node") },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(n.role, "push-node"),
      rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: [n.affinity], verbs: ["get", "list", "watch"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(n.role, "push-node"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: n.role },
      subjects: [{ kind: "ServiceAccount", name: n.serviceAccount, namespace: ns }],
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(n.headless, "push-node"),
      spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: sel, ports: [{ ...port, port: NODE_PORT }] },
    },
    { apiVersion: "v1", kind: "Service", metadata: meta(n.login, "login"), spec: { type: "ClusterIP", selector: sel, ports: [port] } },
    { apiVersion: "v1", kind: "Service", metadata: meta(n.internal, "internal"), spec: { type: "ClusterIP", selector: sel, ports: [{ ...port, name: "http", port: NODE_PORT }] } },
    ...facts.nodes.map((node) => nodeService(pc, node, meta(node, "node-route", nodeServiceAnnotations))),
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: meta(n.statefulSet, "push-node"),
      spec: {
        replicas: facts.replicas,
        serviceName: n.headless,
        podManagementPolicy: "Parallel",
        updateStrategy: { type: "OnDelete" },
        selector: { matchLabels: sel },
        template,
      },
    },
    {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: meta(n.pdb, "push-node"),
      spec: { maxUnavailable: 1, selector: { matchLabels: sel } },
    },
  ];
  const e = pc.spec.endpoint;
  if (expose === "Ingress" && e?.host) out.push(ingress(pc, facts.nodes, meta));
  if (expose === "Gateway" && e?.host) out.push(...httpRoutes(pc, facts.nodes, meta));
  if (pc.spec.monitoring?.serviceMonitor?.enabled && facts.serviceMonitorCrd) {
    out.push({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: meta(n.serviceMonitor, "monitoring"),
      spec: { selector: { matchLabels: labels(pc, "internal") }, endpoints: [{ port: "http", path: "/metrics", interval: pc.spec.monitoring.serviceMonitor.interval ?? "15s" }] },
    });
  }
  return out;
}

type Meta = (name: string, component: string, extra?: Record<string, unknown>) => Record<string, unknown> & { name: string };

/** A node's own Service: ClusterIP, or one LoadBalancer / NodePort Service per node (spec.expose). */
function nodeService(pc: PushCluster, node: string, metadata: KubeObject["metadata"]): KubeObject {
  const expose = exposeType(pc);
  const svc = pc.spec.expose?.service;
  const external = expose === "LoadBalancer" || expose === "NodePort";
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata,
    spec: {
      type: external ? expose : "ClusterIP",
      ...(expose === "LoadBalancer" && svc?.loadBalancerClass ? { loadBalancerClass: svc.loadBalancerClass } : {}),
      ...(external && svc?.externalTrafficPolicy ? { externalTrafficPolicy: svc.externalTrafficPolicy } : {}),
      selector: { ...selectorLabels(pc), "statefulset.kubernetes.io/pod-name": node },
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };
}

/** The node's path prefix as routed (its Socket.IO path without "/socket.io"). */
const routePrefix = (pc: PushCluster, node: string) => nodeRoute(pc, node).path.replace(/\/socket\.io$/, "") || "/";

/** One Ingress: /v1/login to the login Service, and each node's path prefix to the node's own Service. */
function ingress(pc: PushCluster, nodes: string[], meta: Meta): KubeObject {
  const n = names(pc);
  const e = pc.spec.endpoint!;
  const i = { ...(e.ingress ?? {}), ...(pc.spec.expose?.ingress ?? {}) };
  const annotations = { ...INGRESS_NGINX_ANNOTATIONS, ...((i as { annotations?: Record<string, string> }).annotations ?? {}) };
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: meta(n.ingress, "ingress", { annotations }) as KubeObject["metadata"],
    spec: {
      ...(i.className ? { ingressClassName: i.className } : {}),
      ...(i.tlsSecretName ? { tls: [{ hosts: [e.host!], secretName: i.tlsSecretName }] } : {}),
      rules: [
        {
          host: e.host,
          http: {
            paths: [
              { path: "/v1/login", pathType: "Exact", backend: { service: { name: n.login, port: { name: "http" } } } },
              ...nodes.map((node) => ({ path: routePrefix(pc, node), pathType: "Prefix", backend: { service: { name: node, port: { name: "http" } } } })),
            ],
          },
        },
      ],
    },
  };
}

/** Gateway API: an HTTPRoute for logins and one per node (a route holds at most 16 rules), each under spec.expose.gateway.parentRefs. */
function httpRoutes(pc: PushCluster, nodes: string[], meta: Meta): KubeObject[] {
  const n = names(pc);
  const g = pc.spec.expose!.gateway!;
  const annotations = g.annotations && Object.keys(g.annotations).length ? { annotations: g.annotations } : {};
  const route = (name: string, component: string, match: { type: string; value: string }, backend: string): KubeObject => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: meta(name, component, annotations) as KubeObject["metadata"],
    spec: {
      parentRefs: g.parentRefs.map((p) => ({ group: "gateway.networking.k8s.io", kind: "Gateway", ...p })),
      hostnames: [pc.spec.endpoint!.host!],
      rules: [{ matches: [{ path: match }], backendRefs: [{ name: backend, port: 80 }] }],
    },
  });
  return [route(n.loginRoute, "login", { type: "Exact", value: "/v1/login" }, n.login), ...nodes.map((node) => route(node, "node-route", { type: "PathPrefix", value: routePrefix(pc, node) }, node))];
}

export function tokenSecret(pc: PushCluster, secret: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: names(pc).tokenSecret, namespace: pc.metadata.namespace, labels: labels(pc, "token"), ownerReferences: [ownerReference(pc)] },
    type: "Opaque",
    stringData: { secret },
  };
}

/** The operator's record of the token secret (operator/reconcile/token-rotation.ts): `current`, and `previous` while a rotation rolls. */
export function tokenStateSecret(pc: PushCluster, data: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: names(pc).tokenPrevious, namespace: pc.metadata.namespace, labels: labels(pc, "token"), ownerReferences: [ownerReference(pc)] },
    type: "Opaque",
    data,
  };
}

export const hasFinalizer = (pc: PushCluster) => (pc.metadata.finalizers ?? []).includes(FINALIZER);
