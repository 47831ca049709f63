// A minimal Ingress controller: one HTTP server on a random 127.0.0.1 port serves every Ingress of the
// simulator, as an ingress-nginx would: it picks a rule by host and path (Exact before Prefix, longest
// path first), forwards plain requests with node:http and WebSocket upgrades by piping the sockets, to
// the backend Service's cluster IP and port. Each Ingress's status names the address. An idle upgraded
// connection is closed after the Ingress's `nginx.ingress.kubernetes.io/proxy-read-timeout` (60 s by
// default, as ingress-nginx).
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import type { Cluster } from "./cluster.js";
import { deepEqual, type Obj } from "./objects.js";
import type { StoreEvent } from "./store.js";

export const INGRESS_STORAGE_KEY = "networking.k8s.io/ingresses";
const DEFAULT_READ_TIMEOUT_S = 60;

export interface IngressBackend {
  namespace: string;
  service: string;
  port: { name?: string; number?: number };
  /** Idle timeout of an upgraded connection, in seconds (proxy-read-timeout). */
  readTimeoutSeconds: number;
}

const hostMatches = (ruleHost: string | undefined, host: string) => {
  if (!ruleHost) return true;
  if (ruleHost.startsWith("*.")) {
    const rest = ruleHost.slice(1); // ".example.com"
    return host.endsWith(rest) && !host.slice(0, -rest.length).includes(".") && host.length > rest.length;
  }
  return ruleHost === host;
};

const prefixMatches = (prefix: string, path: string) => {
  const p = prefix.replace(/\/+$/, "");
  return p === "" || path === p || path.startsWith(`${p}/`);
};

/**
 * The backend an Ingress set sends a request to (pure): among rules whose host matches (exact, or a
 * `*.` wildcard for one label; a rule without host matches any), the Exact path equal to the request's
 * path, else the longest Prefix (or ImplementationSpecific) matching whole path elements; else the
 * Ingress's defaultBackend. An exact host is preferred to a wildcard, a wildcard to a rule without host. Null: nothing matches (the controller answers 404).
 */
export function routeIngress(ingresses: Obj[], host: string, path: string): IngressBackend | null {
  const bare = host.replace(/:\d+$/, "").toLowerCase();
  let best: { score: number; backend: IngressBackend } | null = null;
  let fallback: IngressBackend | null = null;
  for (const ing of [...ingresses].sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)))) {
    const timeout = Number(ing.metadata.annotations?.["nginx.ingress.kubernetes.io/proxy-read-timeout"] ?? DEFAULT_READ_TIMEOUT_S) || DEFAULT_READ_TIMEOUT_S;
    const backendOf = (b: Obj | undefined): IngressBackend | null =>
      b?.service?.name ? { namespace: ing.metadata.namespace, service: b.service.name, port: b.service.port ?? {}, readTimeoutSeconds: timeout } : null;
    fallback ??= backendOf(ing.spec?.defaultBackend);
    for (const rule of ing.spec?.rules ?? []) {
      if (!hostMatches(rule.host, bare)) continue;
      for (const p of rule.http?.paths ?? []) {
        const exact = p.pathType === "Exact";
        const ok = exact ? path === p.path : prefixMatches(p.path ?? "/", path);
        if (!ok) continue;
        // an exact host beats a wildcard, which beats a rule without host; then an exact path beats any
        // prefix; then the longest path (the oldest Ingress first on a tie)
        const hostScore = !rule.host ? 0 : String(rule.host).startsWith("*.") ? 1 : 2;
        const score = hostScore * 10_000_000 + (exact ? 1_000_000 : 0) + String(p.path ?? "/").length;
        const backend = backendOf(p.backend);
        if (backend && (!best || score > best.score)) best = { score, backend };
      }
    }
  }
  return best?.backend ?? fallback;
}

export class IngressController {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private unsubscribe = () => {};
  /** Where the controller listens (127.0.0.1 and a random port), once started. */
  address = { ip: "127.0.0.1", port: 0 };

  constructor(private readonly cluster: Cluster, private readonly log: (line: string) => void) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => this.forward(req, res));
    server.on("upgrade", (req, socket, head) => this.upgrade(req, socket as Socket, head));
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.address = { ip: "127.0.0.1", port: (server.address() as AddressInfo).port };
    this.unsubscribe = this.cluster.store.subscribe((e) => this.onEvent(e));
    for (const ing of this.cluster.store.list(INGRESS_STORAGE_KEY)) this.publishStatus(ing);
  }

  private onEvent(e: StoreEvent): void {
    if (e.storageKey === INGRESS_STORAGE_KEY && e.type !== "DELETED") this.publishStatus(e.object);
  }

  /** Writes the controller's address into the Ingress's status, as a controller does once it serves it. */
  private publishStatus(ing: Obj): void {
    const want = { loadBalancer: { ingress: [{ ip: this.address.ip, ports: [{ port: this.address.port, protocol: "TCP" }] }] } };
    if (deepEqual(ing.status ?? {}, want)) return;
    setImmediate(() => {
      try {
        const t = this.cluster.builtin("ingresses", "networking.k8s.io");
        const current = this.cluster.tryGet(t, ing.metadata.namespace, ing.metadata.name);
        if (current && !deepEqual(current.status ?? {}, want)) this.cluster.update(t, ing.metadata.namespace, ing.metadata.name, { ...current, status: want }, {}, "status");
      } catch (err) {
        this.log(`ingress ${ing.metadata.namespace}/${ing.metadata.name} status: ${(err as Error).message}`);
      }
    });
  }

  /** The cluster IP and port behind a request, or null (with why) when nothing serves it. */
  private target(req: IncomingMessage): { ip: string; port: number; backend: IngressBackend } | { error: string } {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const backend = routeIngress(this.cluster.store.list(INGRESS_STORAGE_KEY), req.headers.host ?? "", path);
    if (!backend) return { error: "default backend - 404" };
    const svc = this.cluster.store.get("/services", backend.namespace, backend.service);
    const port = (svc?.spec?.ports ?? []).find((p: Obj) => (backend.port.name ? p.name === backend.port.name : p.port === backend.port.number));
    if (!svc?.spec?.clusterIP || svc.spec.clusterIP === "None" || !port) return { error: `no service ${backend.namespace}/${backend.service} port ${backend.port.name ?? backend.port.number}` };
    return { ip: svc.spec.clusterIP, port: port.port, backend };
  }

  private forwardedHeaders(req: IncomingMessage): Record<string, string> {
    return { "x-forwarded-for": req.socket.remoteAddress ?? "", "x-forwarded-host": req.headers.host ?? "", "x-forwarded-proto": "http", "x-real-ip": req.socket.remoteAddress ?? "" };
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const t = this.target(req);
    if ("error" in t) {
      res.writeHead(t.error.startsWith("default") ? 404 : 503, { "content-type": "text/plain" }).end(`${t.error}\n`);
      return;
    }
    const upstream = httpRequest({ host: t.ip, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, ...this.forwardedHeaders(req) } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end("502 Bad Gateway\n");
      else res.destroy();
    });
    req.pipe(upstream);
  }

  private upgrade(req: IncomingMessage, client: Socket, head: Buffer): void {
    const t = this.target(req);
    if ("error" in t) {
      client.end(`HTTP/1.1 ${t.error.startsWith("default") ? "404 Not Found" : "503 Service Unavailable"}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const upstream = connect({ host: t.ip, port: t.port });
    this.sockets.add(upstream);
    const fail = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on("close", () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on("close", () => upstream.destroy());
    upstream.on("error", fail);
    client.on("error", fail);
    // proxy-read-timeout: an upgraded connection with nothing to read for that long is closed
    client.setTimeout(t.backend.readTimeoutSeconds * 1000, fail);
    upstream.setTimeout(t.backend.readTimeoutSeconds * 1000, fail);
    upstream.once("connect", () => {
      const headers = { ...req.headers, ...this.forwardedHeaders(req) };
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (const [k, v] of Object.entries(headers)) for (const value of Array.isArray(v) ? v : [v]) if (value !== undefined) lines.push(`${k}: ${value}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
