// The API semantics over the store: create/get/list/update/patch/delete with metadata bookkeeping,
// optimistic concurrency, subresources, CRD schemas, finalizers and garbage collection. Both the HTTP
// server and the in-process controllers (kubelet, workloads, endpoints) go through this class.
import YAML from "yaml";
import { admitBuiltin, validateCrd } from "./admission.js";
import { apiError, errors } from "./errors.js";
import { gcActions, namespaceContents } from "./gc.js";
import { clone, deepEqual, evalSimpleJsonPath, isPlainObject, newUid, nowTimestamp, randomSuffix, setPath, splitDotPath, type Obj } from "./objects.js";
import { applyJsonPatch, applyMergePatch, PatchError, strategicMerge } from "./patch.js";
import { ApplyConflict, applyManagedFields, baseManagers, defaultManager, pathString, updateManagedFields, type WriteContext } from "./managed-fields.js";
import { apiVersionOf, BUILTIN_TYPES, typesFromCrd, type ResourceType } from "./resources.js";
import { applyDefaults, validateLabelName, validateName, validateSchema, prune, type Cause } from "./schema.js";
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, SelectorError } from "./selectors.js";
import { Store } from "./store.js";
import { admitPodSecurity, namespacePolicy } from "./pod-security.js";
import { budgetStatus, evictionDecision, type BudgetStatus } from "./disruption.js";
import { checkBuiltin } from "./builtin-schema.js";

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: string;
  fieldManager?: string;
  /** Warnings to send back (Warning headers). */
  warnings?: string[];
  /** Check built-in kinds against the Kubernetes schema (requests over HTTP; the simulator's own controllers skip it). */
  schemaValidation?: boolean;
  /** The request's User-Agent: without `fieldManager`, its first token names the field manager (as the real server). */
  userAgent?: string;
  /** `force=true`: a server-side apply takes the fields it conflicts on from their managers. */
  force?: boolean;
  /** Internal: the subresource a write came through, for managedFields (the scale subresource writes the object). */
  fieldsSubresource?: string;
  /** Internal: the configuration of the server-side apply that creates the object. */
  applyConfig?: Obj;
  /** Internal: managedFields already computed by the apply. */
  managedFieldsDone?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export type PatchType = "json" | "merge" | "strategic" | "apply";

/** Extension points for the controllers (kubelet: graceful pod deletion; network: Service IPs). */
export interface ClusterHooks {
  /** Called on create/update of a built-in object before it is stored; may mutate it. */
  admit?: (type: ResourceType, obj: Obj, old: Obj | undefined) => void;
  /** Whether deleting this pod must wait for the kubelet to stop its processes. */
  podNeedsGracefulStop?: (pod: Obj) => boolean;
}

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export class Cluster {
  readonly store: Store;
  private types = new Map<string, ResourceType>();
  readonly hooks: ClusterHooks[] = [];
  private gcScheduled = false;

  constructor(historyLimit = 5000) {
    this.store = new Store(historyLimit);
    for (const t of BUILTIN_TYPES) this.types.set(this.typeKey(t.group, t.version, t.plural), t);
    for (const ns of SYSTEM_NAMESPACES) this.create(this.resolve("", "v1", "namespaces")!, undefined, { metadata: { name: ns } });
    this.store.subscribe((e) => {
      if (e.type !== "ADDED") this.scheduleGc();
    });
  }

  private typeKey(group: string, version: string, plural: string): string {
    return `${group}/${version}/${plural}`;
  }

  /** Every served resource type. */
  allTypes(): ResourceType[] {
    return [...this.types.values()];
  }

  resolve(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.get(this.typeKey(group, version, plural));
  }

  /** The type of a kind by apiVersion ("apps/v1") and kind ("StatefulSet"). */
  typeOfKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.allTypes().find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
  }

  /** Shorthand for controllers: the type of a built-in by plural and group. */
  builtin(plural: string, group = ""): ResourceType {
    const t = this.allTypes().find((x) => x.plural === plural && x.group === group && !x.custom);
    if (!t) throw new Error(`no built-in ${plural}`);
    return t;
  }

  private served(t: ResourceType, obj: Obj): Obj {
    const { apiVersion: _a, kind: _k, ...rest } = obj;
    return { apiVersion: apiVersionOf(t), kind: t.kind, ...rest };
  }

  // ---- reads -------------------------------------------------------------------------------------

  get(t: ResourceType, namespace: string | undefined, name: string): Obj {
    const obj = this.store.get(t.storageKey, t.namespaced ? namespace : undefined, name);
    if (!obj) throw errors.notFound(t.plural, t.group, name);
    return this.served(t, obj);
  }

  tryGet(t: ResourceType, namespace: string | undefined, name: string): Obj | undefined {
    const obj = this.store.get(t.storageKey, t.namespaced ? namespace : undefined, name);
    return obj && this.served(t, obj);
  }

  /** Filters built from list/watch options; throws 400 on a malformed selector. */
  selectorFilter(opts: ListOptions): (obj: Obj) => boolean {
    try {
      const labels = parseLabelSelector(opts.labelSelector);
      const fields = parseFieldSelector(opts.fieldSelector);
      return (obj) => matchesLabels(labels, obj.metadata?.labels) && matchesFields(fields, obj);
    } catch (err) {
      if (err instanceof SelectorError) throw errors.badRequest(err.message);
      throw err;
    }
  }

  list(t: ResourceType, namespace: string | undefined, opts: ListOptions = {}): Obj {
    const filter = this.selectorFilter(opts);
    let items = this.store.list(t.storageKey, t.namespaced ? namespace : undefined).filter(filter);
    const rv = String(this.store.currentRevision);
    let next: string | undefined;
    if (opts.continue) {
      let start: { after: string };
      try {
        start = JSON.parse(Buffer.from(opts.continue, "base64url").toString());
      } catch {
        throw errors.badRequest("continue key is not valid: illegal base64 data");
      }
      items = items.filter((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}` > start.after);
    }
    let remaining = 0;
    if (opts.limit && opts.limit > 0 && items.length > opts.limit) {
      remaining = items.length - opts.limit;
      items = items.slice(0, opts.limit);
      const last = items[items.length - 1]!;
      next = Buffer.from(JSON.stringify({ after: `${last.metadata.namespace ?? ""}/${last.metadata.name}` })).toString("base64url");
    }
    const metadata: Obj = { resourceVersion: rv };
    if (next) {
      metadata.continue = next;
      metadata.remainingItemCount = remaining;
    }
    return { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata, items: items.map((o) => this.served(t, o)) };
  }

  // ---- writes ------------------------------------------------------------------------------------

  /** Who a write is attributed to in managedFields (the simulator's own controllers are "kube-controller-manager" unless they say otherwise) and what it can change. */
  private fieldsContext(t: ResourceType, opts: WriteOptions, subresource: string | undefined): WriteContext {
    const manager = opts.fieldManager ?? (opts.userAgent === undefined ? "kube-controller-manager" : defaultManager(opts.userAgent));
    const sub = subresource ?? opts.fieldsSubresource;
    return { manager, apiVersion: apiVersionOf(t), strategy: t.custom ? "atomic" : "strategic", scope: { statusSubresource: !!t.status, ...(sub ? { subresource: sub } : {}) }, now: nowTimestamp() };
  }

  private namespaceFor(t: ResourceType, urlNamespace: string | undefined, obj: Obj): string | undefined {
    if (!t.namespaced) {
      delete obj.metadata.namespace;
      return undefined;
    }
    const ns = urlNamespace ?? obj.metadata.namespace ?? "default";
    if (obj.metadata.namespace && obj.metadata.namespace !== ns)
      throw errors.badRequest("the namespace of the provided object does not match the namespace sent on the request");
    obj.metadata.namespace = ns;
    return ns;
  }

  private checkNamespaceWritable(ns: string | undefined): void {
    if (ns === undefined) return;
    const nsObj = this.store.get("/namespaces", undefined, ns);
    if (!nsObj) throw errors.notFound("namespaces", "", ns);
    if (nsObj.metadata.deletionTimestamp)
      throw apiError(403, `${ns} is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, "Forbidden", { name: ns, kind: "namespaces" });
  }

  /** The ServiceAccount admission plugin: a pod's service account must exist. */
  private checkServiceAccount(ns: string, pod: Obj): void {
    const sa = pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount ?? "default";
    if (!this.store.get("/serviceaccounts", ns, sa))
      throw apiError(403, `pods "${pod.metadata.name ?? pod.metadata.generateName ?? ""}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`, "Forbidden", {
        name: pod.metadata.name,
        kind: "pods",
      });
  }

  /**
   * PodSecurity admission from the namespace's labels: a pod that violates the `enforce` level is
   * refused (403); a pod or a workload's pod template that violates `warn` (or, for templates, `enforce`)
   * is admitted with a warning, as the real plugin does.
   */
  private checkPodSecurity(t: ResourceType, ns: string | undefined, obj: Obj, opts: WriteOptions): void {
    const spec = t.kind === "Pod" ? obj.spec : ["StatefulSet", "Deployment"].includes(t.kind) ? obj.spec?.template?.spec : undefined;
    if (!ns || !spec) return;
    const policy = namespacePolicy(this.store.get("/namespaces", undefined, ns)?.metadata?.labels);
    if (!policy.enforce && !policy.warn) return;
    const result = admitPodSecurity(t.kind === "Pod" ? policy : { warn: policy.enforce ?? policy.warn }, obj.metadata.name ?? obj.metadata.generateName ?? "", spec);
    if (t.kind !== "Pod" && policy.warn && policy.enforce && policy.warn.level !== policy.enforce.level) result.warnings.push(...admitPodSecurity({ warn: policy.warn }, "", spec).warnings);
    if (result.forbidden) throw apiError(403, result.forbidden, "Forbidden", { name: obj.metadata.name, kind: "pods" });
    opts.warnings?.push(...new Set(result.warnings));
  }

  /** Schema defaulting, pruning and validation for custom resources; built-in admission otherwise. */
  private admit(t: ResourceType, obj: Obj, old: Obj | undefined, opts: WriteOptions): void {
    const causes: Cause[] = [];
    if (!old) {
      const nameCauses = validateName(obj.metadata.name);
      causes.push(...(nameCauses.length === 0 && (t.kind === "Namespace" || t.kind === "Service") ? validateLabelName(obj.metadata.name) : nameCauses));
    }
    if (t.custom && t.schema) {
      const defaulted = applyDefaults(t.schema, obj) as Obj;
      const { value, unknown } = prune(t.schema, defaulted);
      const unknownFields = unknown.filter((p) => !p.startsWith("metadata.") && p !== "metadata" && p !== "apiVersion" && p !== "kind");
      if (unknownFields.length > 0) {
        if (opts.fieldValidation === "Strict")
          throw errors.badRequest(
            `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: strict decoding error: ${unknownFields.map((f) => `unknown field "${f}"`).join(", ")}`,
          );
        if (opts.fieldValidation === "Warn") opts.warnings?.push(...unknownFields.map((f) => `unknown field "${f}"`));
      }
      const pruned = value as Obj;
      pruned.metadata = obj.metadata;
      for (const k of Object.keys(obj)) delete obj[k];
      Object.assign(obj, pruned);
      causes.push(...validateSchema(t.schema, obj));
    } else if (t.kind === "CustomResourceDefinition") causes.push(...validateCrd(obj));
    else {
      if (opts.schemaValidation) {
        // decoding first (a wrong JSON type is a 400), then the schema's required fields and enums among the causes
        const found = checkBuiltin(apiVersionOf(t), t.kind, obj);
        if (found.decodeError) throw errors.badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: ${found.decodeError}`);
        causes.push(...found.causes);
      }
      causes.push(...admitBuiltin(t.kind, obj, old));
    }
    if (causes.length > 0) throw errors.invalid(t.kind, t.group, obj.metadata.name ?? "", causes);
    if (!t.custom) for (const h of this.hooks) h.admit?.(t, obj, old);
  }

  create(t: ResourceType, urlNamespace: string | undefined, body: unknown, opts: WriteOptions = {}): Obj {
    if (!isPlainObject(body)) throw errors.badRequest("the body of the request must be a JSON object");
    const obj = clone(body);
    obj.metadata = isPlainObject(obj.metadata) ? obj.metadata : {};
    if (obj.kind && obj.kind !== t.kind) throw errors.badRequest(`the kind in the body (${obj.kind}) does not match the resource (${t.kind})`);
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    const ns = this.namespaceFor(t, urlNamespace, obj);
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    if (t.plural !== "namespaces") this.checkNamespaceWritable(ns);
    if (obj.metadata.name && this.store.get(t.storageKey, ns, obj.metadata.name)) throw errors.alreadyExists(t.plural, t.group, obj.metadata.name);
    for (const k of ["uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "managedFields", "selfLink"])
      delete obj.metadata[k];
    if (t.status && t.kind !== "Namespace") delete obj.status;
    if (t.kind === "Pod") this.checkServiceAccount(ns!, obj);
    this.admit(t, obj, undefined, opts);
    this.checkPodSecurity(t, ns, obj, opts);
    // The creator owns everything it set (what admission defaulted included); a creating apply owns its configuration.
    const ctx = this.fieldsContext(t, opts, undefined);
    const managedFields = opts.applyConfig ? applyManagedFields([], {}, obj, opts.applyConfig, ctx, false).managedFields : updateManagedFields([], undefined, obj, ctx);
    if (managedFields) obj.metadata.managedFields = managedFields;
    obj.metadata.uid = newUid();
    obj.metadata.creationTimestamp = nowTimestamp();
    if (t.custom || isPlainObject(obj.spec)) obj.metadata.generation = 1;
    if (t.kind === "CustomResourceDefinition") obj.status = crdStatus(obj);
    if (opts.dryRun) return this.served(t, { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.store.currentRevision) } });
    const stored = this.store.put(t.storageKey, obj);
    this.afterWrite(t, stored, undefined);
    return this.served(t, stored);
  }

  /**
   * Replaces an object (PUT). `subresource` "status" changes only the status; otherwise status is kept
   * for kinds with a status subresource. No-op updates do not bump resourceVersion (as the real server).
   */
  update(t: ResourceType, urlNamespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}, subresource?: string): Obj {
    if (!isPlainObject(body)) throw errors.badRequest("the body of the request must be a JSON object");
    const ns = t.namespaced ? urlNamespace : undefined;
    const existing = this.store.get(t.storageKey, ns, name);
    if (!existing) throw errors.notFound(t.plural, t.group, name);
    const incoming = clone(body);
    incoming.metadata = isPlainObject(incoming.metadata) ? incoming.metadata : {};
    if (incoming.metadata.name !== undefined && incoming.metadata.name !== name)
      throw errors.badRequest(`the name of the object (${incoming.metadata.name}) does not match the name on the URL (${name})`);
    if (t.namespaced && incoming.metadata.namespace !== undefined && incoming.metadata.namespace !== ns)
      throw errors.badRequest("the namespace of the provided object does not match the namespace sent on the request");
    const rv = incoming.metadata.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== existing.metadata.resourceVersion) throw errors.conflict(t.plural, t.group, name);
    if ((rv === undefined || rv === "") && t.custom)
      throw errors.invalid(t.kind, t.group, name, [{ reason: "FieldValueInvalid", message: "Invalid value: 0x0: must be specified for an update", field: "metadata.resourceVersion" }]);
    // managedFields sent in the write: `[]` resets them, valid ones replace the live ones, others are ignored.
    const managersBefore = baseManagers(existing, incoming, subresource ?? opts.fieldsSubresource);

    let next: Obj;
    if (subresource === "status") {
      next = { ...clone(existing), status: incoming.status };
      if (next.status === undefined) delete next.status;
    } else {
      next = incoming;
      next.apiVersion = apiVersionOf(t);
      next.kind = t.kind;
      if (t.status && t.kind !== "Namespace") {
        if (existing.status === undefined) delete next.status;
        else next.status = clone(existing.status);
      }
      else if (t.kind === "Namespace") next.status = incoming.status ?? existing.status;
    }
    for (const k of ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace", "name", "generation"]) {
      if (existing.metadata[k] === undefined) delete next.metadata[k];
      else next.metadata[k] = existing.metadata[k];
    }
    if (existing.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter((f: string) => !(existing.metadata.finalizers ?? []).includes(f));
      if (added.length > 0)
        throw errors.invalid(t.kind, t.group, name, [{ reason: "FieldValueForbidden", message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`, field: "metadata.finalizers" }]);
    }
    if (subresource !== "status") this.admit(t, next, existing, opts);
    else if (t.custom && t.schema) {
      const causes = validateSchema(t.schema, next);
      if (causes.length > 0) throw errors.invalid(t.kind, t.group, name, causes);
    }
    if (subresource !== "status" && specChanged(existing, next) && existing.metadata.generation !== undefined) next.metadata.generation = existing.metadata.generation + 1;
    else if (subresource !== "status" && specChanged(existing, next) && isPlainObject(next.spec)) next.metadata.generation = 1;
    if (t.kind === "CustomResourceDefinition") next.status = crdStatus(next);
    const managedFields = opts.managedFieldsDone ? incoming.metadata.managedFields : updateManagedFields(managersBefore, existing, next, this.fieldsContext(t, opts, subresource));
    if (managedFields) next.metadata.managedFields = managedFields;
    else delete next.metadata.managedFields;
    next.metadata.resourceVersion = existing.metadata.resourceVersion;
    if (deepEqual(stripVolatile(next), stripVolatile(existing))) return this.served(t, existing);
    if (opts.dryRun) return this.served(t, next);
    // The last finalizer gone: the object goes (a pod in graceful termination waits for the kubelet).
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0 && !next.metadata.deletionGracePeriodSeconds) {
      const removed = this.store.remove(t.storageKey, ns, name)!;
      this.afterDelete(t, removed);
      return this.served(t, removed);
    }
    const stored = this.store.put(t.storageKey, next);
    this.afterWrite(t, stored, existing);
    return this.served(t, stored);
  }

  patch(t: ResourceType, urlNamespace: string | undefined, name: string, patchType: PatchType, patchBody: string, opts: WriteOptions = {}, subresource?: string): Obj {
    let patch: unknown;
    try {
      patch = patchType === "apply" ? YAML.parse(patchBody) : JSON.parse(patchBody);
    } catch (err) {
      throw errors.badRequest(`error decoding patch: ${(err as Error).message}`);
    }
    const ns = t.namespaced ? urlNamespace : undefined;
    const existing = this.store.get(t.storageKey, ns, name);
    if (opts.force && patchType !== "apply")
      throw errors.invalid("PatchOptions", "meta.k8s.io", "", [{ reason: "FieldValueForbidden", message: "Forbidden: may not be specified for non-apply patch", field: "force" }]);
    if (patchType === "apply") {
      if (!opts.fieldManager)
        throw errors.invalid("PatchOptions", "meta.k8s.io", "", [{ reason: "FieldValueRequired", message: "Required value: is required for apply patch", field: "fieldManager" }]);
      if (!isPlainObject(patch)) throw errors.badRequest("error decoding patch: the apply configuration must be an object");
      if (isPlainObject(patch.metadata) && patch.metadata.managedFields != null) throw errors.badRequest("metadata.managedFields must be nil");
      if (!existing) {
        if (subresource) throw errors.notFound(t.plural, t.group, name);
        const body = clone(patch) as Obj;
        body.metadata = { ...(body.metadata ?? {}), name };
        return this.create(t, urlNamespace, body, { ...opts, applyConfig: patch });
      }
    }
    if (!existing) throw errors.notFound(t.plural, t.group, name);
    if (patchType === "strategic" && t.custom)
      throw apiError(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`, "UnsupportedMediaType");
    const current = this.served(t, existing);
    let patched: unknown;
    try {
      if (patchType === "json") patched = applyJsonPatch(current, patch);
      else if (patchType === "merge") patched = applyMergePatch(current, patch);
      else if (patchType === "strategic") patched = strategicMerge(current, patch);
      else patched = t.custom ? applyMergePatch(current, patch) : strategicMerge(current, patch);
    } catch (err) {
      if (err instanceof PatchError) throw apiError(422, err.message, "Invalid");
      throw err;
    }
    if (!isPlainObject(patched)) throw errors.badRequest("the patch produced a non-object");
    patched.metadata = isPlainObject(patched.metadata) ? patched.metadata : {};
    if (patchType !== "apply") {
      if (patched.metadata.resourceVersion === undefined) patched.metadata.resourceVersion = existing.metadata.resourceVersion;
      return this.update(t, urlNamespace, name, patched, opts, subresource);
    }
    // Server-side apply: ownership from managedFields decides what goes and what conflicts.
    let applied: { object: Obj; managedFields: unknown };
    try {
      applied = applyManagedFields(baseManagers(existing, {}, subresource), current, patched, patch as Obj, this.fieldsContext(t, opts, subresource), opts.force === true);
    } catch (err) {
      if (!(err instanceof ApplyConflict)) throw err;
      throw apiError(409, err.message, "Conflict", {
        causes: err.conflicts.map((c) => ({ reason: "FieldManagerConflict", message: `conflict with ${c.manager}`, field: pathString(c.path) })),
      });
    }
    const next = applied.object;
    if (applied.managedFields) next.metadata.managedFields = applied.managedFields;
    else delete next.metadata.managedFields;
    return this.update(t, urlNamespace, name, next, { ...opts, managedFieldsDone: true }, subresource);
  }

  delete(t: ResourceType, urlNamespace: string | undefined, name: string, opts: DeleteOptions = {}): Obj {
    const ns = t.namespaced ? urlNamespace : undefined;
    const existing = this.store.get(t.storageKey, ns, name);
    if (!existing) throw errors.notFound(t.plural, t.group, name);
    const pre = opts.preconditions ?? {};
    if ((pre.uid && pre.uid !== existing.metadata.uid) || (pre.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion))
      throw errors.conflict(t.plural, t.group, name);
    if (opts.dryRun) return this.served(t, existing);
    const finalizers: string[] = [...(existing.metadata.finalizers ?? [])];
    const policy = opts.propagationPolicy ?? "Background";
    if (policy === "Foreground" && !finalizers.includes("foregroundDeletion")) finalizers.push("foregroundDeletion");
    if (policy === "Orphan" && !finalizers.includes("orphan")) finalizers.push("orphan");
    // Running pods stop first (the kubelet removes them); namespaces are emptied first (collectGarbage
    // removes them); objects with finalizers wait for them to go. All are only marked now.
    const graceful = t.kind === "Pod" && opts.gracePeriodSeconds !== 0 && this.hooks.some((h) => h.podNeedsGracefulStop?.(existing));
    if (graceful || t.kind === "Namespace" || finalizers.length > 0) {
      const next = clone(existing);
      if (!next.metadata.deletionTimestamp) {
        const grace = graceful ? (opts.gracePeriodSeconds ?? existing.spec?.terminationGracePeriodSeconds ?? 30) : 0;
        next.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, "Z");
        next.metadata.deletionGracePeriodSeconds = grace;
        if (t.kind === "Namespace") next.status = { ...(next.status ?? {}), phase: "Terminating" };
      } else if (opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds < (next.metadata.deletionGracePeriodSeconds ?? 0)) {
        // A shorter grace period for an object already terminating (the kubelet's final delete uses 0).
        next.metadata.deletionGracePeriodSeconds = opts.gracePeriodSeconds;
      }
      if (finalizers.length > 0) next.metadata.finalizers = finalizers;
      if (deepEqual(next, existing)) return this.served(t, existing);
      const stored = this.store.put(t.storageKey, next);
      this.scheduleGc();
      return this.served(t, stored);
    }
    const removed = this.store.remove(t.storageKey, ns, name)!;
    this.afterDelete(t, removed);
    return this.served(t, removed);
  }

  // ---- eviction -----------------------------------------------------------------------------------

  /** The PodDisruptionBudgets of a namespace with their status computed from the pods now (the disruption controller's view). */
  budgets(namespace: string): Array<{ pdb: Obj; status: BudgetStatus }> {
    const pods = this.store.list("/pods", namespace);
    const scaleOf = (kind: string, name: string) => {
      const key = kind === "StatefulSet" ? "apps/statefulsets" : kind === "Deployment" ? "apps/deployments" : undefined;
      const r = key ? this.store.get(key, namespace, name)?.spec?.replicas : undefined;
      return typeof r === "number" ? r : undefined;
    };
    return this.store.list("policy/poddisruptionbudgets", namespace).map((pdb) => ({ pdb, status: budgetStatus(pdb, pods, scaleOf) }));
  }

  /**
   * The eviction API (POST pods/<name>/eviction, a policy/v1 Eviction): deletes the pod as a DELETE
   * would, unless its PodDisruptionBudget forbids it (429 TooManyRequests, naming the budget).
   */
  evict(namespace: string, name: string, body: unknown, opts: WriteOptions = {}): Obj {
    const podType = this.builtin("pods");
    const pod = this.get(podType, namespace, name);
    const eviction = (isPlainObject(body) ? body : {}) as Obj;
    if (eviction.metadata?.name !== undefined && eviction.metadata.name !== name) throw errors.badRequest(`name in URL does not match name in Eviction object`);
    const d = evictionDecision(pod, this.budgets(namespace));
    if (!d.allowed) throw apiError(d.code, d.message, d.code === 429 ? "TooManyRequests" : "InternalError", d.cause ? { causes: [{ reason: "DisruptionBudget", message: d.cause }] } : undefined);
    const del = (eviction.deleteOptions ?? {}) as Obj;
    this.delete(podType, namespace, name, { ...opts, dryRun: opts.dryRun || (del.dryRun ?? []).includes("All"), gracePeriodSeconds: del.gracePeriodSeconds, preconditions: del.preconditions });
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 };
  }

  // ---- scale subresource --------------------------------------------------------------------------

  getScale(t: ResourceType, namespace: string | undefined, name: string): Obj {
    if (!t.scale) throw errors.noResource();
    const obj = this.get(t, namespace, name);
    const selector = t.scale.labelSelectorPath ? evalSimpleJsonPath(obj, t.scale.labelSelectorPath) : undefined;
    return {
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      metadata: { name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
      spec: { replicas: Number(evalSimpleJsonPath(obj, t.scale.specReplicasPath) ?? 0) },
      status: { replicas: Number(evalSimpleJsonPath(obj, t.scale.statusReplicasPath) ?? 0), ...(selector ? { selector: String(selector) } : {}) },
    };
  }

  updateScale(t: ResourceType, namespace: string | undefined, name: string, scale: Obj, opts: WriteOptions = {}): Obj {
    if (!t.scale) throw errors.noResource();
    const obj = this.get(t, namespace, name);
    const replicas = scale?.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0)
      throw errors.invalid("Scale", "autoscaling", name, [{ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, field: "spec.replicas" }]);
    const rv = scale.metadata?.resourceVersion;
    if (rv && rv !== obj.metadata.resourceVersion) throw errors.conflict(t.plural, t.group, name);
    setPath(obj, splitDotPath(t.scale.specReplicasPath), replicas);
    this.update(t, namespace, name, obj, { ...opts, fieldsSubresource: "scale" });
    return this.getScale(t, namespace, name);
  }

  patchScale(t: ResourceType, namespace: string | undefined, name: string, patchType: PatchType, body: string, opts: WriteOptions = {}): Obj {
    const current = this.getScale(t, namespace, name);
    let patch: unknown;
    try {
      patch = JSON.parse(body);
    } catch (err) {
      throw errors.badRequest(`error decoding patch: ${(err as Error).message}`);
    }
    const patched = patchType === "json" ? applyJsonPatch(current, patch) : applyMergePatch(current, patch);
    return this.updateScale(t, namespace, name, patched as Obj, opts);
  }

  // ---- CRDs, GC and namespaces ---------------------------------------------------------------------

  private afterWrite(t: ResourceType, obj: Obj, _old: Obj | undefined): void {
    if (t.kind === "CustomResourceDefinition") this.registerCrd(obj);
    if (t.kind === "Namespace" && !_old) {
      const sa = this.resolve("", "v1", "serviceaccounts")!;
      if (!this.store.get(sa.storageKey, obj.metadata.name, "default")) this.create(sa, obj.metadata.name, { metadata: { name: "default" } });
    }
  }

  private afterDelete(t: ResourceType, obj: Obj): void {
    if (t.kind === "CustomResourceDefinition") this.unregisterCrd(obj);
    this.scheduleGc();
  }

  private registerCrd(crd: Obj): void {
    const storageKey = `${crd.spec.group}/${crd.spec.names.plural}`;
    for (const [k, t] of this.types) if (t.storageKey === storageKey && t.custom) this.types.delete(k);
    for (const t of typesFromCrd(crd)) this.types.set(this.typeKey(t.group, t.version, t.plural), t);
  }

  private unregisterCrd(crd: Obj): void {
    const storageKey = `${crd.spec.group}/${crd.spec.names.plural}`;
    for (const [k, t] of this.types) if (t.storageKey === storageKey && t.custom) this.types.delete(k);
    for (const o of this.store.list(storageKey)) this.store.remove(storageKey, o.metadata.namespace, o.metadata.name);
  }

  private typeForStorageKey(storageKey: string): ResourceType | undefined {
    return this.allTypes().find((t) => t.storageKey === storageKey);
  }

  scheduleGc(): void {
    if (this.gcScheduled) return;
    this.gcScheduled = true;
    setImmediate(() => {
      this.gcScheduled = false;
      this.collectGarbage();
    });
  }

  /** One pass of the garbage collector and namespace controller; further passes follow the changes. */
  collectGarbage(): void {
    const all = this.store.all();
    for (const a of gcActions(all)) {
      const t = this.typeForStorageKey(a.target.storageKey);
      if (!t) continue;
      const { namespace, name } = a.target.object.metadata;
      try {
        if (a.action === "delete") this.delete(t, namespace, name, { propagationPolicy: "Background" });
        else if (a.action === "dropOwnerRef") {
          const o = this.get(t, namespace, name);
          o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r: Obj) => r.uid !== a.ownerUid);
          if (o.metadata.ownerReferences.length === 0) delete o.metadata.ownerReferences;
          this.update(t, namespace, name, o);
        } else {
          const o = this.get(t, namespace, name);
          o.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f: string) => f !== a.finalizer);
          this.update(t, namespace, name, o);
        }
      } catch (err) {
        if ((err as { code?: number }).code !== 404 && (err as { code?: number }).code !== 409) throw err;
      }
    }
    for (const ns of all.filter((s) => s.storageKey === "/namespaces" && s.object.metadata.deletionTimestamp)) {
      const name = ns.object.metadata.name;
      const contents = namespaceContents(all, name);
      for (const c of contents) {
        const t = this.typeForStorageKey(c.storageKey);
        if (t && !c.object.metadata.deletionTimestamp) this.delete(t, name, c.object.metadata.name);
      }
      if (contents.length === 0 && (ns.object.metadata.finalizers ?? []).length === 0) this.store.remove("/namespaces", undefined, name);
    }
  }

}

/** The object without what changes on every write: a write that changes only these is a no-op, as on the real server (managedFields times included). */
function stripVolatile(o: Obj): Obj {
  const c = clone(o);
  delete c.metadata.resourceVersion;
  if (Array.isArray(c.metadata.managedFields)) for (const e of c.metadata.managedFields) if (e && typeof e === "object") delete e.time;
  return c;
}

/** Whether anything but metadata and status changed (what bumps metadata.generation). */
function specChanged(a: Obj, b: Obj): boolean {
  const strip = (o: Obj) => {
    const { metadata: _m, status: _s, ...rest } = o;
    return rest;
  };
  return !deepEqual(strip(a), strip(b));
}

function crdStatus(crd: Obj): Obj {
  const now = nowTimestamp();
  return {
    acceptedNames: clone(crd.spec.names),
    storedVersions: (crd.spec.versions ?? []).filter((v: Obj) => v.storage).map((v: Obj) => v.name),
    conditions: [
      { type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found", lastTransitionTime: crd.status?.conditions?.[0]?.lastTransitionTime ?? now },
      { type: "Established", status: "True", reason: "InitialNamesAccepted", message: "the initial names have been accepted", lastTransitionTime: crd.status?.conditions?.[1]?.lastTransitionTime ?? now },
    ],
  };
}

