// The one Kubernetes client of Herald (the operator and the push node's affinity ConfigMap source):
// plain JSON requests with the kubeconfig's server, credentials and CA over one keep-alive agent, and
// watches through client-node's Watch. Objects stay JSON, so times such as a Lease's MicroTime stay
// exact strings. Cached reads: informer.ts.
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from "node:https";
import { KubeConfig, Watch } from "@kubernetes/client-node";

export class KubeError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string, readonly body: unknown) {
    super(message);
  }
}

export interface RequestInit {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
}

export class KubeRest {
  private readonly server: URL;
  /** One keep-alive agent for every request (client-node's applyToHTTPSOptions makes a new one, so a new TLS connection, per call). */
  private agent: HttpAgent | HttpsAgent | null = null;
  /** Called with what each write (not GET) answered: the operator puts it into its cache (read your own writes). */
  afterWrite: ((obj: any) => void) | null = null;
  /** In a pod: the service account; elsewhere: $KUBECONFIG or ~/.kube/config. */
  static fromDefault(userAgent?: string): KubeRest {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubeRest(kc, userAgent);
  }

  /**
   * `userAgent`: what the API server records as the field manager of this client's writes (its part before
   * the first "/"), so `kubectl get --show-managed-fields` names the operator.
   */
  constructor(readonly kc: KubeConfig, private readonly userAgent = "herald") {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    this.server = new URL(cluster.server);
  }

  async request<T = any>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = init.body === undefined ? undefined : Buffer.from(JSON.stringify(init.body));
    const opts: RequestOptions = {
      method,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      headers: { accept: "application/json", "user-agent": this.userAgent, ...(payload ? { "content-type": init.contentType ?? "application/json", "content-length": payload.length } : {}) },
    };
    await this.kc.applyToHTTPSOptions(opts);
    opts.agent = this.agent ??= this.keepAliveAgent(opts, url.protocol === "https:");
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(opts, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {}
    if (status >= 400) throw new KubeError(status, body?.reason ?? "Unknown", `${method} ${path}: ${status} ${body?.message ?? text}`, body);
    if (method !== "GET") this.afterWrite?.(body);
    return body as T;
  }

  /** The TLS settings client-node put on the first request (CA, client certificate, verification), on a keep-alive agent. */
  private keepAliveAgent(opts: RequestOptions, tls: boolean): HttpAgent | HttpsAgent {
    if (!tls) return new HttpAgent({ keepAlive: true, maxSockets: 16 });
    const skipVerify = this.kc.getCurrentCluster()?.skipTLSVerify === true;
    return new HttpsAgent({
      keepAlive: true,
      maxSockets: 16,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      pfx: opts.pfx,
      passphrase: opts.passphrase,
      servername: opts.servername,
      rejectUnauthorized: opts.rejectUnauthorized ?? !skipVerify,
    });
  }

  /**
   * A watch (one long-lived connection of its own): `onEvent` per event (ADDED, MODIFIED, DELETED,
   * BOOKMARK, ERROR), `onDone` once when it ends, cleanly (null) or not. Abort it with the controller.
   */
  watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (type: string, obj: any) => void, onDone: (err: unknown) => void): Promise<AbortController> {
    return new Watch(this.kc).watch(path, query, onEvent, onDone);
  }

  get = <T = any>(path: string, query?: RequestInit["query"]) => this.request<T>("GET", path, { query });
  /** GET that answers null on 404. */
  async find<T = any>(path: string): Promise<T | null> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return null;
      throw err;
    }
  }
}

/** The API path of a collection, or of one object when `name` is given. */
export function apiPath(apiVersion: string, plural: string, namespace?: string, name?: string, sub?: string): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return [base, namespace ? `namespaces/${namespace}` : "", plural, name ?? "", sub ?? ""].filter(Boolean).join("/");
}

const PLURALS: Record<string, string> = {
  ServiceAccount: "serviceaccounts",
  Role: "roles",
  RoleBinding: "rolebindings",
  Service: "services",
  StatefulSet: "statefulsets",
  PodDisruptionBudget: "poddisruptionbudgets",
  Ingress: "ingresses",
  HTTPRoute: "httproutes",
  ServiceMonitor: "servicemonitors",
  ConfigMap: "configmaps",
  Secret: "secrets",
  Pod: "pods",
  Event: "events",
  Lease: "leases",
};

export function pluralOf(kind: string): string {
  const p = PLURALS[kind];
  if (!p) throw new Error(`no plural known for kind ${kind}`);
  return p;
}
