// The HTTPS front of the API server: authentication, routing of Kubernetes REST paths, RBAC, faults,
// audit, Tables and watch streams. Semantics live in Cluster; this file only speaks HTTP.
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import YAML from "yaml";
import type { AuditLog } from "./audit.js";
import { Cluster, type DeleteOptions, type PatchType, type WriteOptions } from "./cluster.js";
import { apiGroup, apiGroupList, coreVersions, resourceList, versionInfo } from "./discovery.js";
import { ApiError, apiError, errors, statusFor } from "./errors.js";
import type { Faults } from "./faults.js";
import type { Tokens } from "./identity.js";
import { clone, type Obj } from "./objects.js";
import { openapiDocument, openapiRoot } from "./openapi.js";
import { followLog, lastLines } from "./pod-logs.js";
import { decodeKubernetesProtobuf } from "./protobuf.js";
import { forbiddenMessage, rbacAllows, type Identity, type ResourceAttributes } from "./rbac.js";
import { apiVersionOf, type ResourceType } from "./resources.js";
import type { StoreEvent } from "./store.js";
import { toTable } from "./table.js";

export interface ApiServerOptions {
  cluster: Cluster;
  tokens: Tokens;
  audit: AuditLog;
  faults: Faults;
  /** Enforce RBAC (otherwise every authenticated request is allowed). */
  rbac: () => boolean;
  /** "127.0.0.1:port" for /api's serverAddressByClientCIDRs. */
  serverAddress: () => string;
  /** How often watches that allow bookmarks get one. */
  bookmarkIntervalMs: () => number;
  /** The log file of a pod's container, for GET pods/<name>/log. */
  podLogFile?: (namespace: string, name: string, container: string | undefined, previous?: boolean) => { file: string; running: boolean } | undefined;
}

interface ResourceRequest {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  verb: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readRawBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readRawBody(req)).toString("utf8");
}

/** Reads a create/update body: JSON, YAML, or Protobuf for the few kinds kubectl's typed commands send. */
async function readObject(req: IncomingMessage): Promise<unknown> {
  const contentType = req.headers["content-type"];
  if (contentType?.includes("protobuf")) {
    try {
      return decodeKubernetesProtobuf(await readRawBody(req));
    } catch (err) {
      throw apiError(
        415,
        `the simulator cannot decode this Protobuf body (${(err as Error).message}); send JSON or YAML instead (e.g. \`kubectl create ... --dry-run=client -o yaml | kubectl apply -f -\`)`,
        "UnsupportedMediaType",
      );
    }
  }
  return parseBody(await readBody(req), contentType);
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text.trim() === "") return undefined;
  try {
    return contentType?.includes("yaml") ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

function patchTypeOf(contentType: string | undefined): PatchType {
  const ct = (contentType ?? "").split(";")[0]!.trim();
  switch (ct) {
    case "application/json-patch+json":
      return "json";
    case "application/merge-patch+json":
      return "merge";
    case "application/strategic-merge-patch+json":
      return "strategic";
    case "application/apply-patch+yaml":
      return "apply";
    default:
      throw apiError(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`, "UnsupportedMediaType");
  }
}

/**
 * Impersonation (Impersonate-User / Impersonate-Group headers, as `kubectl --as`): allowed for members
 * of system:masters only (the real server checks the `impersonate` verb through RBAC).
 */
function impersonated(caller: Identity, req: IncomingMessage): Identity {
  const user = req.headers["impersonate-user"];
  if (typeof user !== "string") return caller;
  if (!caller.groups.includes("system:masters"))
    throw apiError(403, `users "${user}" is forbidden: User "${caller.username}" cannot impersonate resource "users" in API group "" at the cluster scope`, "Forbidden");
  const rawGroups = req.headersDistinct?.["impersonate-group"] ?? [];
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user);
  const groups = sa ? ["system:serviceaccounts", `system:serviceaccounts:${sa[1]}`] : [];
  return {
    username: user,
    groups: [...new Set([...groups, ...rawGroups, "system:authenticated"])],
    ...(sa ? { serviceAccount: { namespace: sa[1]!, name: sa[2]! } } : {}),
  };
}

export class ApiServer {
  constructor(private readonly o: ApiServerOptions) {}

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.route(req, res).catch((err) => {
      const status = err instanceof ApiError ? err.status : statusFor(500, `internal error: ${(err as Error)?.stack ?? String(err)}`);
      if (!res.headersSent) send(res, status.code, status);
      else res.end();
    });
  };

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://sim");
    const caller = this.o.tokens.identify(req.headers.authorization);
    if (!caller) {
      send(res, 401, statusFor(401, "Unauthorized"));
      return;
    }
    const who = impersonated(caller, req);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const types = this.o.cluster.allTypes();
    const get = req.method === "GET";
    if (get) {
      let body: unknown;
      if (path === "/version") body = versionInfo();
      else if (path === "/api") body = coreVersions(this.o.serverAddress());
      else if (path === "/apis") body = apiGroupList(types);
      else if (path === "/openapi/v3") body = openapiRoot(types);
      else if (path.startsWith("/openapi/v3/")) body = openapiDocument(types, path.slice("/openapi/v3/".length)) ?? null;
      else if (path === "/healthz" || path === "/livez" || path === "/readyz") {
        res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
        return;
      } else {
        const m = /^\/api\/(v1)$|^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
        if (m) body = m[1] ? resourceList(types, "", "v1") : m[3] ? resourceList(types, m[2]!, m[3]) : apiGroup(types, m[2]!);
      }
      if (body !== undefined) {
        if (body === null) send(res, 404, errors.noResource().status);
        else if (body) send(res, 200, body);
        else send(res, 404, errors.noResource().status);
        return;
      }
    }
    const r = this.parseResourcePath(req.method ?? "GET", path, url.searchParams);
    if (!r) {
      send(res, 404, errors.noResource().status);
      return;
    }
    await this.serveResource(req, res, url.searchParams, who, r);
  }

  /** Maps /api/v1/... and /apis/<g>/<v>/... paths to a resource request, or undefined. */
  private parseResourcePath(method: string, path: string, query: URLSearchParams): ResourceRequest | undefined {
    const m = /^\/api\/(v1)\/(.+)$|^\/apis\/([^/]+)\/([^/]+)\/(.+)$/.exec(path);
    if (!m) return undefined;
    const group = m[1] ? "" : m[3]!;
    const version = m[1] ?? m[4]!;
    let parts = (m[2] ?? m[5]!).split("/").map(decodeURIComponent);
    let namespace: string | undefined;
    if (parts[0] === "namespaces" && parts.length >= 3 && !(parts.length === 3 && ["status", "finalize"].includes(parts[2]!))) {
      namespace = parts[1];
      parts = parts.slice(2);
    }
    const [plural, name, subresource, ...rest] = parts;
    if (rest.length > 0 || !plural) return undefined;
    const type = this.o.cluster.resolve(group, version, plural);
    if (!type) return undefined;
    if (!type.namespaced && namespace !== undefined) return undefined;
    const watch = query.get("watch") === "true" || query.get("watch") === "1";
    const verb =
      method === "GET" ? (name ? "get" : watch ? "watch" : "list")
      : method === "POST" ? "create"
      : method === "PUT" ? "update"
      : method === "PATCH" ? "patch"
      : method === "DELETE" ? (name ? "delete" : "deletecollection")
      : method.toLowerCase();
    return { type, namespace, name, subresource, verb };
  }

  private authorize(who: Identity, r: ResourceRequest, query: URLSearchParams): void {
    if (!this.o.rbac() || r.type.kind === "SelfSubjectAccessReview") return;
    // As the real server's RequestInfo: a list or watch with the field selector metadata.name=<n> is
    // authorized as a request for <n>, so rules with resourceNames allow it.
    const byName = r.verb === "list" || r.verb === "watch" ? /^metadata\.name==?([^,=!]+)$/.exec(query.get("fieldSelector") ?? "")?.[1] : undefined;
    const attrs: ResourceAttributes = { verb: r.verb, group: r.type.group, resource: r.type.plural, subresource: r.subresource, namespace: r.namespace, name: r.name ?? byName };
    if (!rbacAllows(who, attrs, this.rbacObjects()))
      throw apiError(403, forbiddenMessage(who, attrs), "Forbidden", { name: r.name, group: r.type.group || undefined, kind: r.type.plural });
  }

  private rbacObjects() {
    const c = this.o.cluster;
    const items = (plural: string) => c.store.list(`rbac.authorization.k8s.io/${plural}`);
    return { roles: items("roles"), roleBindings: items("rolebindings"), clusterRoles: items("clusterroles"), clusterRoleBindings: items("clusterrolebindings") };
  }

  private async serveResource(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, who: Identity, r: ResourceRequest): Promise<void> {
    const t = r.type;
    const audit = (code: number) =>
      this.o.audit.record(who, {
        verb: r.verb,
        group: t.group,
        version: t.version,
        resource: t.plural,
        ...(r.subresource ? { subresource: r.subresource } : {}),
        ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
        ...(r.name !== undefined ? { name: r.name } : {}),
        code,
        uri: req.url ?? "",
      });
    try {
      this.authorize(who, r, query);
      const fault = this.o.faults.take({ user: who.username, verb: r.verb, resource: t.plural, subresource: r.subresource, namespace: r.namespace, name: r.name });
      if (fault?.delayMs) await sleep(fault.delayMs);
      if (fault?.status) {
        const details = { name: r.name, group: t.group || undefined, kind: t.plural, ...(fault.retryAfterSeconds ? { retryAfterSeconds: fault.retryAfterSeconds } : {}) };
        throw apiError(fault.status, fault.message ?? `injected fault: ${fault.status}`, fault.reason, details);
      }
      if (r.verb === "watch") {
        audit(200);
        this.serveWatch(req, res, query, who, r);
        return;
      }
      if (r.verb === "get" && r.subresource === "log" && query.get("follow") === "true") {
        const file = this.logFileOf(r, query);
        audit(200);
        const container = query.get("container") ?? undefined;
        followLog(res, file, query.has("tailLines") ? Number(query.get("tailLines")) : undefined, () => {
          const now = this.o.podLogFile?.(r.namespace!, r.name!, container);
          return now?.file === file && now.running;
        });
        return;
      }
      const { code, body, headers } = await this.execute(req, query, who, r);
      audit(code);
      if (typeof body === "string") res.writeHead(code, { "Content-Type": "text/plain", ...headers }).end(body);
      else send(res, code, body, headers);
    } catch (err) {
      if (err instanceof ApiError) audit(err.code);
      else audit(500);
      throw err;
    }
  }

  /** The log file behind GET pods/<name>/log, or 400 as the real server answers for a container not running. */
  private logFileOf(r: ResourceRequest, query: URLSearchParams): string {
    this.o.cluster.get(r.type, r.namespace, r.name!);
    const container = query.get("container") ?? undefined;
    const previous = query.get("previous") === "true";
    const log = this.o.podLogFile?.(r.namespace!, r.name!, container, previous);
    if (!log && previous) throw errors.badRequest(`previous terminated container ${container ? `"${container}" ` : ""}in pod "${r.name}" not found`);
    if (!log) throw errors.badRequest(`container ${container ? `"${container}" ` : ""}in pod "${r.name}" is waiting to start: no logs yet`);
    return log.file;
  }

  private writeOptions(req: IncomingMessage, query: URLSearchParams, warnings: string[]): WriteOptions {
    return {
      userAgent: req.headers["user-agent"] ?? "",
      force: query.get("force") === "true",
      dryRun: query.getAll("dryRun").includes("All"),
      fieldValidation: query.get("fieldValidation") ?? "Warn",
      fieldManager: query.get("fieldManager") ?? undefined,
      warnings,
      schemaValidation: true,
    };
  }

  private wantsTable(req: IncomingMessage): boolean {
    return /as=Table/.test(req.headers.accept ?? "");
  }

  private async execute(req: IncomingMessage, query: URLSearchParams, who: Identity, r: ResourceRequest): Promise<{ code: number; body: unknown; headers: Record<string, string> }> {
    const c = this.o.cluster;
    const t = r.type;
    const warnings: string[] = [];
    const headersOf = () => (warnings.length ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(", ") } : ({} as Record<string, string>));
    const ok = (body: unknown, code = 200) => ({ code, body, headers: headersOf() });
    const opts = this.writeOptions(req, query, warnings);
    const ct = req.headers["content-type"];
    const sub = r.subresource;
    if (sub && !(sub === "status" && t.status) && !(sub === "scale" && t.scale) && !(t.extraSubresources ?? []).includes(sub)) throw errors.noResource();

    switch (r.verb) {
      case "get": {
        if (sub === "scale") return ok(c.getScale(t, r.namespace, r.name!));
        if (sub === "log") {
          const file = this.logFileOf(r, query);
          return ok(lastLines(readFileSync(file, "utf8"), query.has("tailLines") ? Number(query.get("tailLines")) : undefined));
        }
        const obj = c.get(t, r.namespace, r.name!);
        return ok(this.wantsTable(req) ? toTable(t, [obj], { resourceVersion: obj.metadata.resourceVersion }, query.get("includeObject") ?? undefined) : obj);
      }
      case "list": {
        const list = c.list(t, r.namespace, {
          labelSelector: query.get("labelSelector") ?? undefined,
          fieldSelector: query.get("fieldSelector") ?? undefined,
          limit: query.has("limit") ? Number(query.get("limit")) : undefined,
          continue: query.get("continue") ?? undefined,
        });
        return ok(this.wantsTable(req) ? toTable(t, list.items, list.metadata, query.get("includeObject") ?? undefined) : list);
      }
      case "create": {
        const body = await readObject(req);
        if (t.kind === "SelfSubjectAccessReview") return ok(this.accessReview(who, body as Obj), 201);
        if (sub === "eviction" && t.kind === "Pod") return ok(c.evict(r.namespace!, r.name!, body, opts), 201);
        if (t.kind === "Namespace" && r.namespace) throw errors.methodNotAllowed();
        return ok(c.create(t, r.namespace, body, opts), 201);
      }
      case "update": {
        const body = await readObject(req);
        if (sub === "scale") return ok(c.updateScale(t, r.namespace, r.name!, body as Obj, opts));
        return ok(c.update(t, r.namespace, r.name!, body, opts, sub));
      }
      case "patch": {
        const text = await readBody(req);
        const pt = patchTypeOf(ct);
        if (sub === "scale") return ok(c.patchScale(t, r.namespace, r.name!, pt, text, opts));
        if (pt === "apply") opts.fieldValidation = query.get("fieldValidation") ?? "Strict";
        const existed = c.tryGet(t, r.namespace, r.name!) !== undefined;
        const obj = c.patch(t, r.namespace, r.name!, pt, text, opts, sub);
        return ok(obj, existed ? 200 : 201);
      }
      case "delete": {
        const body = (parseBody(await readBody(req), ct) ?? {}) as Obj;
        const dopts: DeleteOptions = {
          ...opts,
          propagationPolicy: query.get("propagationPolicy") ?? body.propagationPolicy ?? (body.orphanDependents ? "Orphan" : undefined),
          gracePeriodSeconds: query.has("gracePeriodSeconds") ? Number(query.get("gracePeriodSeconds")) : body.gracePeriodSeconds,
          preconditions: body.preconditions,
        };
        const obj = c.delete(t, r.namespace, r.name!, dopts);
        const stillThere = !opts.dryRun && c.tryGet(t, r.namespace, r.name!) !== undefined;
        if (stillThere) return ok(obj, 202);
        if (t.custom || t.kind === "Pod") return ok(obj);
        return ok({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name: r.name, group: t.group || undefined, kind: t.plural, uid: obj.metadata.uid } });
      }
      case "deletecollection": {
        const list = c.list(t, r.namespace, { labelSelector: query.get("labelSelector") ?? undefined, fieldSelector: query.get("fieldSelector") ?? undefined });
        for (const item of list.items) {
          try {
            c.delete(t, item.metadata.namespace, item.metadata.name, opts);
          } catch (err) {
            if (!(err instanceof ApiError && err.code === 404)) throw err;
          }
        }
        return ok(list);
      }
      default:
        throw errors.methodNotAllowed();
    }
  }

  private accessReview(who: Identity, body: Obj): Obj {
    const a = body?.spec?.resourceAttributes ?? {};
    const attrs: ResourceAttributes = { verb: a.verb ?? "", group: a.group ?? "", resource: a.resource ?? "", subresource: a.subresource || undefined, namespace: a.namespace || undefined, name: a.name || undefined };
    const allowed = !this.o.rbac() || rbacAllows(who, attrs, this.rbacObjects());
    return { ...clone(body), apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", metadata: { creationTimestamp: null }, status: { allowed, ...(allowed ? { reason: "allowed by the simulator" } : {}) } };
  }

  private serveWatch(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, who: Identity, r: ResourceRequest): void {
    const c = this.o.cluster;
    const t = r.type;
    const filter = c.selectorFilter({ labelSelector: query.get("labelSelector") ?? undefined, fieldSelector: query.get("fieldSelector") ?? undefined });
    const table = this.wantsTable(req);
    const inScope = (o: Obj) => !t.namespaced || r.namespace === undefined || o.metadata?.namespace === r.namespace;
    const served = (o: Obj): Obj => {
      const obj: Obj = { ...o, apiVersion: apiVersionOf(t), kind: t.kind };
      return table ? toTable(t, [obj], { resourceVersion: obj.metadata.resourceVersion }, query.get("includeObject") ?? undefined) : obj;
    };
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked", "Cache-Control": "no-cache" });
    res.flushHeaders();
    const write = (type: string, object: Obj) => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const translate = (e: StoreEvent) => {
      if (!inScope(e.object)) return;
      const now = filter(e.object);
      const before = e.previous ? filter(e.previous) : false;
      if (e.type === "ADDED" && now) write("ADDED", served(e.object));
      else if (e.type === "MODIFIED") {
        if (now && before) write("MODIFIED", served(e.object));
        else if (now) write("ADDED", served(e.object));
        else if (before) write("DELETED", served(e.object));
      } else if (e.type === "DELETED" && (before || now)) write("DELETED", served(e.object));
    };

    let unsubscribe = () => {};
    let unregister = () => {};
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      unsubscribe();
      unregister();
      if (timer) clearTimeout(timer);
      if (!res.writableEnded) res.end();
    };
    res.on("close", finish);

    const rvParam = query.get("resourceVersion") ?? "";
    if (rvParam === "" || rvParam === "0") {
      for (const o of c.store.list(t.storageKey, t.namespaced ? r.namespace : undefined)) if (filter(o)) write("ADDED", served(o));
      const from = c.store.currentRevision;
      unsubscribe = c.store.subscribe((e) => e.storageKey === t.storageKey && e.rv > from && translate(e));
    } else {
      const from = Number(rvParam);
      const past = Number.isFinite(from) ? c.store.eventsSince(t.storageKey, from) : undefined;
      if (!past) {
        write("ERROR", statusFor(410, `too old resource version: ${rvParam} (${c.store.oldestResumableRevision})`, "Expired"));
        finish();
        return;
      }
      for (const e of past) translate(e);
      const last = Math.max(from, ...past.map((e) => e.rv));
      unsubscribe = c.store.subscribe((e) => e.storageKey === t.storageKey && e.rv > last && translate(e));
    }
    unregister = this.o.faults.registerWatch((f) => {
      const match = (f.resource === undefined || f.resource === t.plural) && (f.namespace === undefined || f.namespace === r.namespace) && (f.user === undefined || f.user === who.username);
      if (match && f.abrupt) {
        unsubscribe();
        unregister();
        if (timer) clearTimeout(timer);
        res.socket?.destroy();
      } else if (match) finish();
      return match;
    });
    const timeout = Number(query.get("timeoutSeconds") ?? 0);
    if (timeout > 0) timer = setTimeout(finish, timeout * 1000);
    if (query.get("allowWatchBookmarks") === "true" && !table) {
      // Every event up to the current revision has been written to this stream (subscribers are synchronous).
      const bookmarks = setInterval(() => write("BOOKMARK", { kind: t.kind, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(c.store.currentRevision) } }), this.o.bookmarkIntervalMs());
      res.on("close", () => clearInterval(bookmarks));
    }
  }
}
