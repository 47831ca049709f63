// Defaulting and validation of the built-in kinds the simulator gives meaning to (pure: take the
// incoming object and, on update, the stored one; mutate/return the incoming object and causes).
import { Buffer } from "node:buffer";
import { clone, deepEqual, type Obj } from "./objects.js";
import type { Cause } from "./schema.js";
import { matchesLabels, requirementsFromLabelSelector } from "./selectors.js";

function defaultContainer(c: Obj): void {
  c.imagePullPolicy ??= "IfNotPresent";
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  for (const p of c.ports ?? []) p.protocol ??= "TCP";
  for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
    if (!probe) continue;
    probe.timeoutSeconds ??= 1;
    probe.periodSeconds ??= 10;
    probe.successThreshold ??= 1;
    probe.failureThreshold ??= 3;
    if (probe.httpGet) probe.httpGet.scheme ??= "HTTP";
  }
}

export function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.serviceAccountName ??= spec.serviceAccount ?? "default";
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.schedulerName ??= "default-scheduler";
  spec.securityContext ??= {};
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) defaultContainer(c);
}

function validateWorkload(obj: Obj, causes: Cause[]): void {
  const selector = obj.spec?.selector;
  const labels = obj.spec?.template?.metadata?.labels ?? {};
  if (!selector) causes.push({ reason: "FieldValueRequired", message: "Required value", field: "spec.selector" });
  else if (!matchesLabels(requirementsFromLabelSelector(selector), labels))
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
      field: "spec.template.metadata.labels",
    });
  if (!Array.isArray(obj.spec?.template?.spec?.containers) || obj.spec.template.spec.containers.length === 0)
    causes.push({ reason: "FieldValueRequired", message: "Required value", field: "spec.template.spec.containers" });
}

/** Applies the defaults and checks of the built-in kinds. Returns validation causes (empty when valid). */
export function admitBuiltin(kind: string, obj: Obj, old: Obj | undefined): Cause[] {
  const causes: Cause[] = [];
  switch (kind) {
    case "Namespace":
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), "kubernetes.io/metadata.name": obj.metadata.name };
      obj.spec ??= { finalizers: ["kubernetes"] };
      if (!old) obj.status = { phase: "Active" };
      break;
    case "Secret":
      obj.type ??= "Opaque";
      if (obj.stringData) {
        obj.data ??= {};
        for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString("base64");
        delete obj.stringData;
      }
      causes.push(...immutableDataCauses(obj, old));
      break;
    case "ConfigMap":
      causes.push(...immutableDataCauses(obj, old));
      break;
    case "Pod":
      obj.spec ??= {};
      if (!Array.isArray(obj.spec.containers) || obj.spec.containers.length === 0)
        causes.push({ reason: "FieldValueRequired", message: "Required value", field: "spec.containers" });
      defaultPodSpec(obj.spec);
      if (!old) obj.status = { phase: "Pending", qosClass: "BestEffort" };
      else if (old.spec?.nodeName && !deepEqual(stripMutablePodFields(obj.spec), stripMutablePodFields(old.spec)))
        causes.push({
          reason: "FieldValueForbidden",
          message: "Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
          field: "spec",
        });
      break;
    case "Service": {
      obj.spec ??= {};
      obj.spec.type ??= "ClusterIP";
      obj.spec.sessionAffinity ??= "None";
      obj.spec.ipFamilies ??= ["IPv4"];
      obj.spec.ipFamilyPolicy ??= "SingleStack";
      obj.spec.internalTrafficPolicy ??= "Cluster";
      for (const p of obj.spec.ports ?? []) {
        p.protocol ??= "TCP";
        p.targetPort ??= p.port;
      }
      if (old?.spec?.clusterIP && !obj.spec.clusterIP) obj.spec.clusterIP = old.spec.clusterIP;
      if (old?.spec?.clusterIP && obj.spec.clusterIP !== old.spec.clusterIP)
        causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(obj.spec.clusterIP)}: field is immutable`, field: "spec.clusterIP" });
      if (obj.spec.clusterIP) obj.spec.clusterIPs = [obj.spec.clusterIP];
      if (!old) obj.status ??= { loadBalancer: {} };
      break;
    }
    case "StatefulSet":
      obj.spec ??= {};
      obj.spec.replicas ??= 1;
      obj.spec.podManagementPolicy ??= "OrderedReady";
      obj.spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
      obj.spec.revisionHistoryLimit ??= 10;
      obj.spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: "Retain", whenScaled: "Retain" };
      if (obj.spec.template?.spec) defaultPodSpec(obj.spec.template.spec);
      validateWorkload(obj, causes);
      if (old && !deepEqual(old.spec.selector, obj.spec.selector))
        causes.push({ reason: "FieldValueForbidden", message: "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden", field: "spec" });
      break;
    case "Deployment":
      if (old && !deepEqual(old.spec?.selector, obj.spec?.selector))
        causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(obj.spec?.selector)}: field is immutable`, field: "spec.selector" });
      obj.spec ??= {};
      obj.spec.replicas ??= 1;
      obj.spec.strategy ??= { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } };
      obj.spec.revisionHistoryLimit ??= 10;
      obj.spec.progressDeadlineSeconds ??= 600;
      if (obj.spec.template?.spec) defaultPodSpec(obj.spec.template.spec);
      validateWorkload(obj, causes);
      break;
  }
  return causes;
}

/** ConfigMaps and Secrets marked immutable keep their data, and stay immutable. */
function immutableDataCauses(obj: Obj, old: Obj | undefined): Cause[] {
  if (!old?.immutable) return [];
  const causes: Cause[] = [];
  if (!deepEqual(obj.data ?? {}, old.data ?? {}) || !deepEqual(obj.binaryData ?? {}, old.binaryData ?? {}))
    causes.push({ reason: "FieldValueForbidden", message: "Forbidden: field is immutable when `immutable` is set", field: "data" });
  if (obj.immutable !== true)
    causes.push({ reason: "FieldValueForbidden", message: "Forbidden: field is immutable when `immutable` is set", field: "immutable" });
  return causes;
}

function stripMutablePodFields(spec: Obj): Obj {
  const s = clone(spec);
  delete s.activeDeadlineSeconds;
  delete s.tolerations;
  delete s.terminationGracePeriodSeconds;
  for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])]) delete c.image;
  return s;
}

/** Checks a CustomResourceDefinition enough to serve it; returns causes. */
export function validateCrd(crd: Obj): Cause[] {
  const causes: Cause[] = [];
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const req = (field: string) => causes.push({ reason: "FieldValueRequired", message: "Required value", field });
  if (!spec.group) req("spec.group");
  if (!names.plural) req("spec.names.plural");
  if (!names.kind) req("spec.names.kind");
  if (!["Namespaced", "Cluster"].includes(spec.scope))
    causes.push({ reason: "FieldValueNotSupported", message: `Unsupported value: ${JSON.stringify(spec.scope ?? "")}: supported values: "Cluster", "Namespaced"`, field: "spec.scope" });
  if (spec.group && names.plural && crd.metadata?.name !== `${names.plural}.${spec.group}`)
    causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(crd.metadata?.name)}: must be spec.names.plural+"."+spec.group`, field: "metadata.name" });
  const versions: Obj[] = spec.versions ?? [];
  if (versions.length === 0) req("spec.versions");
  if (versions.filter((v) => v.storage).length !== 1)
    causes.push({ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(versions.map((v) => v.name))}: must have exactly one version marked as storage version`, field: "spec.versions" });
  versions.forEach((v, i) => {
    if (!v.schema?.openAPIV3Schema) req(`spec.versions[${i}].schema.openAPIV3Schema`);
  });
  return causes;
}
