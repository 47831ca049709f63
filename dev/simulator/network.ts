// Loopback networking: pod IPs and Service ClusterIPs drawn from two random 127.a.b.0/24 ranges of
// this simulator, the endpoints controller, and one TCP proxy per ClusterIP service port that forwards
// to ready endpoints (round robin). A LoadBalancer Service gets a load balancer address from the top of
// the service range (in its status, as a cloud's controller writes it) with a proxy on each of its
// ports; NodePort and LoadBalancer Services get node ports (30000-32767), proxied on the node's
// address 127.0.0.1.
import { connect, createServer, type Server, type Socket } from "node:net";
import { randomInt } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Cluster } from "./cluster.js";
import { endpointSubsets } from "./endpoints.js";
import { errors } from "./errors.js";
import { deepEqual, type Obj } from "./objects.js";
import type { StoreEvent } from "./store.js";

interface Proxy {
  server: Server;
  backends: { ip: string; port: number }[];
  next: number;
  sockets: Set<Socket>;
}

const LOCK_DIR = join(tmpdir(), "herald-sim-networks");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Picks random second and third octets for this simulator's two /24 ranges (127.a.b.0 for pods,
 * 127.a.b+1.0 for services) and claims them with a lock file, so that simulators running at the same
 * time on this machine never share addresses. A lock left by a dead process is taken over.
 */
function claimRanges(): { a: number; b: number; release: () => void } {
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const a = randomInt(1, 255);
    const b = randomInt(0, 127) * 2;
    const lock = join(LOCK_DIR, `127.${a}.${b}`);
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
    } catch {
      const owner = Number(readFileSync(lock, "utf8"));
      if (alive(owner) && attempt < 1000) continue;
      writeFileSync(lock, String(process.pid));
    }
    return { a, b, release: () => rmSync(lock, { force: true }) };
  }
}

export class Network {
  readonly podPrefix: string;
  readonly servicePrefix: string;
  private readonly usedPodIps = new Set<string>();
  private readonly usedServiceIps = new Set<string>();
  private readonly proxies = new Map<string, Proxy>();
  private unsubscribe = () => {};
  private dirtyNamespaces = new Set<string>();
  private deletedServices = new Set<string>();
  private syncScheduled = false;
  private stopped = false;

  private readonly releaseRanges: () => void;

  constructor(private readonly cluster: Cluster, private readonly log: (line: string) => void) {
    const { a, b, release } = claimRanges();
    this.releaseRanges = release;
    this.podPrefix = `127.${a}.${b}`;
    this.servicePrefix = `127.${a}.${b + 1}`;
    cluster.hooks.push({
      admit: (t, obj, old) => {
        if (t.kind !== "Service") return;
        if (!obj.spec.clusterIP && obj.spec.type !== "ExternalName") {
          obj.spec.clusterIP = this.allocate(this.servicePrefix, this.usedServiceIps);
          obj.spec.clusterIPs = [obj.spec.clusterIP];
        }
        this.admitExternal(obj, old);
      },
    });
  }

  /** Node ports for NodePort and LoadBalancer Services (kept across updates, as the real server), a load balancer address for LoadBalancer. */
  private admitExternal(obj: Obj, old: Obj | undefined): void {
    const type = obj.spec.type;
    const external = type === "NodePort" || type === "LoadBalancer";
    const used = new Set(this.cluster.store.list("/services").flatMap((s) => (s.metadata.uid === obj.metadata.uid ? [] : (s.spec?.ports ?? []).map((p: Obj) => p.nodePort))));
    (obj.spec.ports ?? []).forEach((p: Obj, i: number) => {
      if (!external || p.nodePort === undefined || (old?.spec?.ports ?? []).some((o: Obj) => o.nodePort === p.nodePort)) return;
      const field = `spec.ports[${i}].nodePort`;
      if (!Number.isInteger(p.nodePort) || p.nodePort < 30000 || p.nodePort > 32767)
        throw errors.invalid("Service", "", obj.metadata.name, [{ reason: "FieldValueInvalid", message: `Invalid value: ${p.nodePort}: provided port is not in the valid range. The range of valid ports is 30000-32767`, field }]);
      if (used.has(p.nodePort)) throw errors.invalid("Service", "", obj.metadata.name, [{ reason: "FieldValueInvalid", message: `Invalid value: ${p.nodePort}: provided port is already allocated`, field }]);
    });
    for (const p of obj.spec.ports ?? []) {
      if (!external) continue;
      p.nodePort ??= (old?.spec?.ports ?? []).find((o: Obj) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"))?.nodePort;
      if (p.nodePort === undefined) {
        for (let tries = 0; tries < 10_000; tries++) {
          const candidate = randomInt(30000, 32768);
          if (!used.has(candidate)) {
            p.nodePort = candidate;
            break;
          }
        }
      }
      used.add(p.nodePort);
    }
    if (!external) for (const p of obj.spec.ports ?? []) delete p.nodePort;
    const lb = old?.status?.loadBalancer?.ingress?.[0]?.ip;
    if (type === "LoadBalancer") {
      obj.status = { ...(obj.status ?? {}), loadBalancer: { ingress: [{ ip: lb ?? this.allocateFromTop(this.servicePrefix, this.usedServiceIps), ipMode: "VIP" }] } };
    } else {
      if (lb) this.usedServiceIps.delete(lb);
      if (obj.status?.loadBalancer?.ingress) obj.status = { ...obj.status, loadBalancer: {} };
    }
  }

  private allocateFromTop(prefix: string, used: Set<string>): string {
    for (let i = 254; i > 1; i--) {
      const ip = `${prefix}.${i}`;
      if (!used.has(ip)) {
        used.add(ip);
        return ip;
      }
    }
    throw new Error(`simulator: no free address left in ${prefix}.0/24`);
  }

  private allocate(prefix: string, used: Set<string>): string {
    for (let i = 2; i < 255; i++) {
      const ip = `${prefix}.${i}`;
      if (!used.has(ip)) {
        used.add(ip);
        return ip;
      }
    }
    throw new Error(`simulator: no free address left in ${prefix}.0/24`);
  }

  allocatePodIp(): string {
    return this.allocate(this.podPrefix, this.usedPodIps);
  }

  releasePodIp(ip: string | undefined): void {
    if (ip) this.usedPodIps.delete(ip);
  }

  async start(): Promise<void> {
    this.unsubscribe = this.cluster.store.subscribe((e) => this.onEvent(e));
  }

  private onEvent(e: StoreEvent): void {
    if (e.storageKey === "/services" && e.type === "DELETED") {
      this.usedServiceIps.delete(e.object.spec?.clusterIP);
      const lb = e.object.status?.loadBalancer?.ingress?.[0]?.ip;
      if (lb) this.usedServiceIps.delete(lb);
      if (e.object.spec?.selector) this.deletedServices.add(`${e.object.metadata.namespace}/${e.object.metadata.name}`);
    }
    if (e.storageKey === "/pods" || e.storageKey === "/services") {
      this.dirtyNamespaces.add(e.object.metadata.namespace);
      this.scheduleSync();
    }
    if (e.storageKey === "/endpoints" || e.storageKey === "/services") this.scheduleSync();
  }

  private scheduleSync(): void {
    if (this.syncScheduled || this.stopped) return;
    this.syncScheduled = true;
    setImmediate(() => {
      this.syncScheduled = false;
      if (!this.stopped) this.sync();
    });
  }

  private sync(): void {
    const endpointsType = this.cluster.builtin("endpoints");
    for (const ns of this.dirtyNamespaces) {
      const pods = this.cluster.store.list("/pods", ns);
      for (const svc of this.cluster.store.list("/services", ns)) {
        if (!svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) continue;
        const subsets = endpointSubsets(svc, pods);
        const existing = this.cluster.tryGet(endpointsType, ns, svc.metadata.name);
        try {
          if (!existing) {
            this.cluster.create(endpointsType, ns, {
              metadata: { name: svc.metadata.name, namespace: ns, labels: svc.metadata.labels ?? {} },
              subsets,
            });
          } else if (!deepEqual(existing.subsets ?? [], subsets)) {
            this.cluster.update(endpointsType, ns, svc.metadata.name, { ...existing, subsets });
          }
        } catch (err) {
          this.log(`endpoints ${ns}/${svc.metadata.name}: ${(err as Error).message}`);
        }
      }
    }
    this.dirtyNamespaces.clear();
    // The Endpoints of a deleted selector-based Service go with it (hand-made Endpoints are left alone).
    for (const key of this.deletedServices) {
      const [ns, name] = key.split("/") as [string, string];
      if (this.cluster.store.get("/services", ns, name)) continue;
      try {
        this.cluster.delete(endpointsType, ns, name);
      } catch {
        // already gone
      }
    }
    this.deletedServices.clear();
    this.syncProxies();
  }

  /** Opens, updates and closes the per-service-port TCP proxies. */
  private syncProxies(): void {
    const wanted = new Map<string, { ip: string; port: number; backends: { ip: string; port: number }[] }>();
    for (const svc of this.cluster.store.list("/services")) {
      const ip = svc.spec?.clusterIP;
      if (!ip || ip === "None" || !ip.startsWith(`${this.servicePrefix}.`)) continue;
      const ep = this.cluster.store.get("/endpoints", svc.metadata.namespace, svc.metadata.name);
      for (const sp of svc.spec.ports ?? []) {
        if ((sp.protocol ?? "TCP") !== "TCP") continue;
        const backends: { ip: string; port: number }[] = [];
        for (const subset of ep?.subsets ?? []) {
          const port = (subset.ports ?? []).find((p: Obj) => (p.name ?? "") === (sp.name ?? "")) ?? (subset.ports ?? [])[0];
          if (!port) continue;
          for (const a of subset.addresses ?? []) backends.push({ ip: a.ip, port: port.port });
        }
        wanted.set(`${ip}:${sp.port}`, { ip, port: sp.port, backends });
        const lb = svc.spec.type === "LoadBalancer" ? svc.status?.loadBalancer?.ingress?.[0]?.ip : undefined;
        if (lb?.startsWith(`${this.servicePrefix}.`)) wanted.set(`${lb}:${sp.port}`, { ip: lb, port: sp.port, backends });
        if ((svc.spec.type === "NodePort" || svc.spec.type === "LoadBalancer") && sp.nodePort) wanted.set(`127.0.0.1:${sp.nodePort}`, { ip: "127.0.0.1", port: sp.nodePort, backends });
      }
    }
    for (const [key, proxy] of this.proxies) {
      if (!wanted.has(key)) {
        proxy.server.close();
        for (const s of proxy.sockets) s.destroy();
        this.proxies.delete(key);
      }
    }
    for (const [key, w] of wanted) {
      const existing = this.proxies.get(key);
      if (existing) existing.backends = w.backends;
      else this.openProxy(key, w.ip, w.port, w.backends);
    }
  }

  private openProxy(key: string, ip: string, port: number, backends: { ip: string; port: number }[]): void {
    const proxy: Proxy = { server: createServer(), backends, next: 0, sockets: new Set() };
    proxy.server.on("connection", (client) => {
      proxy.sockets.add(client);
      client.on("close", () => proxy.sockets.delete(client));
      if (proxy.backends.length === 0) {
        client.destroy();
        return;
      }
      const backend = proxy.backends[proxy.next++ % proxy.backends.length]!;
      const upstream = connect({ host: backend.ip, port: backend.port });
      proxy.sockets.add(upstream);
      upstream.on("close", () => proxy.sockets.delete(upstream));
      client.pipe(upstream).pipe(client);
      const fail = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", fail);
      upstream.on("error", fail);
    });
    proxy.server.on("error", (err) => this.log(`service proxy ${key}: ${err.message}`));
    proxy.server.listen(port, ip);
    this.proxies.set(key, proxy);
  }

  /** Address → backends currently behind each service port (for tests and diagnostics). */
  proxyTable(): Record<string, { ip: string; port: number }[]> {
    return Object.fromEntries([...this.proxies].map(([k, p]) => [k, [...p.backends]]));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.releaseRanges();
    await Promise.all(
      [...this.proxies.values()].map(
        (p) =>
          new Promise<void>((resolve) => {
            for (const s of p.sockets) s.destroy();
            p.server.close(() => resolve());
          }),
      ),
    );
    this.proxies.clear();
  }
}
