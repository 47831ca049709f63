// How a pod's container becomes a local process (pure): the command mapping, environment resolution
// (valueFrom, envFrom, $(VAR) expansion) and the rewriting of mount paths into the pod's root dir.
import { Buffer } from "node:buffer";
import { getPath, splitDotPath, type Obj } from "./objects.js";

export interface Lookup {
  configMap(namespace: string, name: string): Obj | undefined;
  secret(namespace: string, name: string): Obj | undefined;
}

export class ConfigError extends Error {}

/** Looks up fieldRef paths the kubelet supports (metadata.name, status.podIP, metadata.labels['x'], ...). */
export function fieldRefValue(pod: Obj, fieldPath: string): string {
  const v = getPath(pod, splitDotPath(fieldPath));
  if (fieldPath === "status.podIPs") return (pod.status?.podIPs ?? []).map((p: Obj) => p.ip).join(",");
  // Whole label and annotation maps render as the downward API writes them: key="value" lines, sorted.
  if ((fieldPath === "metadata.labels" || fieldPath === "metadata.annotations") && v && typeof v === "object")
    return Object.entries(v as Record<string, string>)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, val]) => `${k}=${JSON.stringify(val)}`)
      .join("\n");
  return v === undefined || v === null ? "" : String(v);
}

function secretValue(secret: Obj, key: string): string | undefined {
  if (secret.data?.[key] !== undefined) return Buffer.from(secret.data[key], "base64").toString("utf8");
  if (secret.stringData?.[key] !== undefined) return String(secret.stringData[key]);
  return undefined;
}

/** $(VAR) expansion as the kubelet does it; $$(VAR) escapes. Unknown variables stay as written. */
export function expandVars(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === "$$") return "$";
    return name !== undefined && env[name] !== undefined ? env[name]! : m;
  });
}

/** The environment a container declares (envFrom, then env), with references resolved. */
export function containerEnv(pod: Obj, container: Obj, lookup: Lookup): Record<string, string> {
  const ns = pod.metadata.namespace;
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    if (from.configMapRef) {
      const cm = lookup.configMap(ns, from.configMapRef.name);
      if (!cm && !from.configMapRef.optional) throw new ConfigError(`configmap "${from.configMapRef.name}" not found`);
      for (const [k, v] of Object.entries(cm?.data ?? {})) env[prefix + k] = String(v);
    }
    if (from.secretRef) {
      const s = lookup.secret(ns, from.secretRef.name);
      if (!s && !from.secretRef.optional) throw new ConfigError(`secret "${from.secretRef.name}" not found`);
      for (const k of Object.keys(s?.data ?? {})) env[prefix + k] = secretValue(s!, k)!;
    }
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = expandVars(String(e.value), env);
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldRefValue(pod, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const v = lookup.configMap(ns, ref.name)?.data?.[ref.key];
      if (v === undefined && !ref.optional) throw new ConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
      if (v !== undefined) env[e.name] = String(v);
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const s = lookup.secret(ns, ref.name);
      const v = s && secretValue(s, ref.key);
      if (v === undefined && !ref.optional) throw new ConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
      if (v !== undefined) env[e.name] = v;
    } else if (e.valueFrom?.resourceFieldRef) {
      const r = e.valueFrom.resourceFieldRef;
      const [kind, res] = String(r.resource).split(".");
      env[e.name] = String(container.resources?.[kind === "limits" ? "limits" : "requests"]?.[res!] ?? "0");
    } else env[e.name] = "";
  }
  return env;
}

/**
 * Rewrites absolute paths under a mount path into the pod root wherever they start a word: at the start,
 * or after "=", ":", ",", a quote or whitespace ("/etc/herald/x", "--config=/etc/herald/x", "cat /etc/herald/x").
 */
export function rewriteMountPaths(text: string, mountPaths: string[], rootDir: string): string {
  const paths = mountPaths.map((p) => p.replace(/\/+$/, "")).filter((p) => p !== "").sort((a, b) => b.length - a.length);
  if (paths.length === 0) return text;
  const alternatives = paths.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  const re = new RegExp(`(^|[=:,\\s'"])(${alternatives})(?=$|[/\\s'";:,])`, "g");
  return text.replace(re, (_m, pre: string, path: string) => `${pre}${rootDir}${path}`);
}

export interface ProcessSpec {
  file: string;
  args: string[];
  /** True when the container runs the project's own `herald` CLI. */
  herald: boolean;
}

/**
 * The process a container runs. The image is ignored. A command (or, without a command, args) starting
 * with `herald` runs `node <repo>/bin/herald.js <rest>`; without a command, an image whose name contains
 * "herald" also means the herald CLI with the args; anything else runs as written.
 */
export function processFor(container: Obj, env: Record<string, string>, heraldBin: string, nodePath: string): ProcessSpec {
  const command: string[] = (container.command ?? []).map((c: unknown) => expandVars(String(c), env));
  const args: string[] = (container.args ?? []).map((a: unknown) => expandVars(String(a), env));
  let argv = [...command, ...args];
  const isHerald = (s: string | undefined) => s === "herald" || (s !== undefined && /(^|\/)herald$/.test(s));
  if (command.length === 0 && !isHerald(args[0]) && /herald/.test(String(container.image ?? ""))) argv = ["herald", ...args];
  if (argv.length === 0) throw new ConfigError(`container "${container.name}" has no command: the simulator ignores images, so set command or args`);
  if (isHerald(argv[0])) return { file: nodePath, args: [heraldBin, ...argv.slice(1)], herald: true };
  return { file: argv[0]!, args: argv.slice(1), herald: false };
}

/** The docker-link style variables the kubelet sets for the Services of the pod's namespace (enableServiceLinks). */
export function serviceLinkEnv(services: Obj[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === "None") continue;
    const prefix = String(svc.metadata.name).toUpperCase().replace(/-/g, "_");
    const ports: Obj[] = svc.spec.ports ?? [];
    env[`${prefix}_SERVICE_HOST`] = ip;
    if (ports[0]) env[`${prefix}_SERVICE_PORT`] = String(ports[0].port);
    for (const p of ports) if (p.name) env[`${prefix}_SERVICE_PORT_${String(p.name).toUpperCase().replace(/-/g, "_")}`] = String(p.port);
  }
  return env;
}
