// A pod's volumes as files: each volume under <pod dir>/volumes/<name>/, each mount a symlink at
// <pod dir>/root/<mountPath>. ConfigMap and Secret contents are replaced atomically, file by file.
import { Buffer } from "node:buffer";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Obj } from "./objects.js";
import { ConfigError, fieldRefValue, type Lookup } from "./pod-spec.js";

export const SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface VolumeContext {
  pod: Obj;
  podIp: string;
  /** The pod's directory (volumes/ and root/ are made inside it). */
  dir: string;
  lookup: Lookup;
  /** Files of the service-account volume (token, ca.crt, namespace). */
  serviceAccount: Record<string, Buffer>;
}

/** Writes the volumes and links the mounts; returns the mount paths. Throws ConfigError when a source is missing. */
export function writePodVolumes(ctx: VolumeContext): string[] {
  const { pod, lookup } = ctx;
  const ns = pod.metadata.namespace;
  const volumesDir = join(ctx.dir, "volumes");
  const root = join(ctx.dir, "root");
  const files = new Map<string, Record<string, Buffer>>();

  const fromConfigMap = (ref: Obj): Record<string, Buffer> => {
    const cm = lookup.configMap(ns, ref.name);
    if (!cm) {
      if (ref.optional) return {};
      throw new ConfigError(`configmap "${ref.name}" not found`);
    }
    const all: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(cm.data ?? {})) all[k] = Buffer.from(String(v));
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) all[k] = Buffer.from(String(v), "base64");
    return pick(all, ref.items);
  };
  const fromSecret = (name: string, ref: Obj): Record<string, Buffer> => {
    const s = lookup.secret(ns, name);
    if (!s) {
      if (ref.optional) return {};
      throw new ConfigError(`secret "${name}" not found`);
    }
    const all: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(s.data ?? {})) all[k] = Buffer.from(String(v), "base64");
    return pick(all, ref.items);
  };
  const withIp = { ...pod, status: { ...pod.status, podIP: ctx.podIp } };
  const fromDownward = (items: Obj[] = []): Record<string, Buffer> =>
    Object.fromEntries(items.filter((i) => i.fieldRef).map((i) => [i.path, Buffer.from(fieldRefValue(withIp, i.fieldRef.fieldPath))]));

  for (const v of pod.spec?.volumes ?? []) {
    if (v.configMap) files.set(v.name, fromConfigMap(v.configMap));
    else if (v.secret) files.set(v.name, fromSecret(v.secret.secretName, v.secret));
    else if (v.downwardAPI) files.set(v.name, fromDownward(v.downwardAPI.items));
    else if (v.projected) {
      const merged: Record<string, Buffer> = {};
      for (const src of v.projected.sources ?? []) {
        if (src.configMap) Object.assign(merged, fromConfigMap(src.configMap));
        if (src.secret) Object.assign(merged, fromSecret(src.secret.name, src.secret));
        if (src.downwardAPI) Object.assign(merged, fromDownward(src.downwardAPI.items));
        if (src.serviceAccountToken) merged[src.serviceAccountToken.path] = ctx.serviceAccount.token!;
      }
      files.set(v.name, merged);
    } else if (!v.hostPath) files.set(v.name, {});
  }
  const automount = pod.spec?.automountServiceAccountToken !== false;
  if (automount) files.set("kube-api-access-sim", ctx.serviceAccount);
  for (const [name, content] of files) writeVolumeFiles(join(volumesDir, name), content);

  const hostPaths = new Map<string, string>((pod.spec?.volumes ?? []).filter((v: Obj) => v.hostPath).map((v: Obj) => [v.name, v.hostPath.path]));
  const mounts: { mountPath: string; target: string }[] = [];
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const m of c.volumeMounts ?? []) {
      if (m.subPath && m.subPath.split("/").includes("..")) throw new ConfigError(`subPath "${m.subPath}" must not contain '..'`);
      const base = hostPaths.get(m.name) ?? join(volumesDir, m.name);
      mounts.push({ mountPath: m.mountPath, target: m.subPath ? join(base, m.subPath) : base });
    }
  }
  if (automount) mounts.push({ mountPath: SERVICE_ACCOUNT_MOUNT, target: join(volumesDir, "kube-api-access-sim") });
  for (const m of mounts) {
    // A mount of a volume the pod does not declare (a volumeClaimTemplates claim) is an empty directory.
    if (!existsSync(m.target) && m.target.startsWith(volumesDir)) mkdirSync(m.target, { recursive: true });
    const link = join(root, m.mountPath);
    if (existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(m.target, link);
  }
  return [...new Set(mounts.map((m) => m.mountPath))];
}

function pick(all: Record<string, Buffer>, items: Obj[] | undefined): Record<string, Buffer> {
  if (!items || items.length === 0) return all;
  const out: Record<string, Buffer> = {};
  for (const i of items) if (all[i.key] !== undefined) out[i.path ?? i.key] = all[i.key]!;
  return out;
}

/** Makes `dir` hold exactly `content` (file path → bytes), replacing changed files atomically. */
function writeVolumeFiles(dir: string, content: Record<string, Buffer>): void {
  mkdirSync(dir, { recursive: true });
  for (const [path, data] of Object.entries(content)) {
    if (path.startsWith("/") || path.split("/").includes("..")) continue; // the API server rejects such paths
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    if (existsSync(file) && readFileSync(file).equals(data)) continue;
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  }
  for (const entry of readdirSync(dir)) {
    if (!(entry in content) && !Object.keys(content).some((p) => p.startsWith(`${entry}/`))) {
      try {
        unlinkSync(join(dir, entry));
      } catch {
        // a directory or already gone
      }
    }
  }
}
