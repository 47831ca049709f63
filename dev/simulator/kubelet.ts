// The kubelet: runs every pod as local processes on its own loopback IP, writes its volumes, runs its
// probes, restarts containers per restartPolicy, reports status, and stops pods on deletion
// (SIGTERM to the process group, SIGKILL after the grace period).
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Cluster } from "./cluster.js";
import type { Tokens } from "./identity.js";
import type { ImageRegistry, PullResult } from "./images.js";
import { recordEvent } from "./events.js";
import { renderKubeconfig } from "./kubeconfig.js";
import type { Network } from "./network.js";
import { nowTimestamp, type Obj } from "./objects.js";
import { ConfigError, containerEnv, processFor, rewriteMountPaths, serviceLinkEnv, type Lookup } from "./pod-spec.js";
import { writePodVolumes } from "./pod-volumes.js";
import { runProbe } from "./probes.js";
import { podStatus, type ContainerState, type PodRuntimeState } from "./pod-status.js";
import type { StoreEvent } from "./store.js";

export interface KubeletOptions {
  cluster: Cluster;
  network: Network;
  tokens: Tokens;
  /** Which images can be pulled (others: ErrImagePull, then ImagePullBackOff, retried). */
  images: ImageRegistry;
  dir: string;
  caCert: string;
  apiServer: () => { host: string; port: number };
  log: (line: string) => void;
}

/** The repository root: simulator sources live in <root>/simulator, compiled in <root>/dist/simulator. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, "bin", "herald.js")) && existsSync(join(dir, "package.json"))) return dir;
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
}

export const NODE_NAME = "sim-node";

/** How long a stopped pod's object stays (with its containers terminated) before the kubelet removes it. */
const POD_REMOVAL_DELAY_MS = 300;

interface Container {
  spec: Obj;
  state: ContainerState;
  child?: ChildProcess;
  exited?: Promise<void>;
  timers: NodeJS.Timeout[];
  backoffTimer?: NodeJS.Timeout;
  /** Set once its image was pulled; failed pulls so far (for the back-off). */
  pulled?: boolean;
  pullFailures?: number;
  probeCounts: Record<string, { ok: number; fail: number }>;
}

interface PodRuntime {
  uid: string;
  namespace: string;
  name: string;
  ip: string;
  dir: string;
  root: string;
  startTime: string;
  restartPolicy: string;
  initialized: boolean;
  containers: Container[];
  stopping: boolean;
  /** Set once the volumes could be written and init containers started. */
  launched: boolean;
  /** Aborted when the pod stops (kills exec probes still running). */
  aborter: AbortController;
  /** The init container running now, if any (stopped with the pod). */
  init?: { child: ChildProcess; exited: Promise<void> };
  publishScheduled: boolean;
  mountPaths: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signals a container's process group (each container process leads its own group). */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export class Kubelet {
  private readonly pods = new Map<string, PodRuntime>();
  private unsubscribe = () => {};
  private stopped = false;
  private readonly root = repoRoot();
  private readonly heraldBin = join(this.root, "bin", "herald.js");

  private unsubscribeImages = () => {};

  constructor(private readonly o: KubeletOptions) {
    o.cluster.hooks.push({ podNeedsGracefulStop: (pod) => this.pods.has(pod.metadata.uid) });
  }

  async start(): Promise<void> {
    mkdirSync(this.o.dir, { recursive: true });
    const nodes = this.o.cluster.builtin("nodes");
    if (!this.o.cluster.tryGet(nodes, undefined, NODE_NAME)) {
      this.o.cluster.create(nodes, undefined, { metadata: { name: NODE_NAME, labels: { "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux" } } }, { fieldManager: "kubelet" });
      const node = this.o.cluster.get(nodes, undefined, NODE_NAME);
      node.status = {
        addresses: [{ type: "InternalIP", address: "127.0.0.1" }, { type: "Hostname", address: NODE_NAME }],
        conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "the simulator runs pods as local processes", lastHeartbeatTime: nowTimestamp(), lastTransitionTime: nowTimestamp() }],
        nodeInfo: { kubeletVersion: "v1.32.0-herald-sim", operatingSystem: "linux", architecture: process.arch, containerRuntimeVersion: "sim://processes" },
      };
      this.o.cluster.update(nodes, undefined, NODE_NAME, node, { fieldManager: "kubelet" }, "status");
    }
    this.unsubscribe = this.o.cluster.store.subscribe((e) => this.onEvent(e));
    this.unsubscribeImages = this.o.images.onAdd(() => this.retryPulls());
    for (const pod of this.o.cluster.store.list("/pods")) this.onPod(pod);
  }

  /** A new image in the registry: containers backing off on a pull try again now. */
  private retryPulls(): void {
    for (const rt of this.pods.values())
      for (const c of rt.containers) {
        if (c.child || rt.stopping || !["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull"].includes(c.state.reason ?? "")) continue;
        if (c.backoffTimer) clearTimeout(c.backoffTimer);
        const current = this.o.cluster.store.get("/pods", rt.namespace, rt.name);
        if (current && !current.metadata.deletionTimestamp) this.startContainer(rt, current, c);
      }
  }

  /**
   * A pull that failed: ErrImagePull, then ImagePullBackOff until the next try (1 s, doubling up to
   * 10 s: the real kubelet's 10 s to 5 min, shortened); an invalid reference is not retried.
   */
  private pullFailed(rt: PodRuntime, c: Container, r: Exclude<PullResult, { ok: true }>): void {
    const image = String(c.spec.image ?? "");
    if (r.reason === "InvalidImageName") {
      Object.assign(c.state, { state: "waiting", reason: r.reason, message: r.message });
      this.event(rt, "Warning", "InspectFailed", r.message);
      this.event(rt, "Warning", "Failed", `Error: ${r.reason}`);
      this.publish(rt);
      return;
    }
    c.pullFailures = (c.pullFailures ?? 0) + 1;
    if (r.reason === "ErrImageNeverPull") {
      Object.assign(c.state, { state: "waiting", reason: r.reason, message: r.message });
      this.event(rt, "Warning", "ErrImageNeverPull", r.message);
    } else {
      this.event(rt, "Normal", "Pulling", `Pulling image "${image}"`);
      Object.assign(c.state, { state: "waiting", reason: "ErrImagePull", message: `rpc error: code = NotFound desc = ${r.message}` });
      this.event(rt, "Warning", "Failed", `Failed to pull image "${image}": rpc error: code = NotFound desc = ${r.message}`);
    }
    this.event(rt, "Warning", "Failed", `Error: ${r.reason}`);
    this.publish(rt);
    const delay = Math.min(10_000, 1000 * 2 ** Math.min(c.pullFailures - 1, 4));
    const retry = () => {
      const current = this.o.cluster.store.get("/pods", rt.namespace, rt.name);
      if (!current || current.metadata.deletionTimestamp || rt.stopping || this.stopped) return;
      // a pod's image may be changed in place: pull what it says now
      c.spec = (current.spec?.containers ?? []).find((x: Obj) => x.name === c.spec.name) ?? c.spec;
      c.state.image = c.spec.image ?? "";
      this.startContainer(rt, current, c);
    };
    if (r.reason === "ErrImageNeverPull") {
      c.backoffTimer = setTimeout(retry, delay);
      return;
    }
    c.backoffTimer = setTimeout(() => {
      if (rt.stopping || this.stopped) return;
      Object.assign(c.state, { state: "waiting", reason: "ImagePullBackOff", message: `Back-off pulling image "${image}"` });
      this.event(rt, "Normal", "BackOff", `Back-off pulling image "${image}"`);
      this.event(rt, "Warning", "Failed", "Error: ImagePullBackOff");
      this.publish(rt);
      c.backoffTimer = setTimeout(retry, delay);
    }, 300);
  }

  private lookup: Lookup = {
    configMap: (ns, name) => this.o.cluster.store.get("/configmaps", ns, name),
    secret: (ns, name) => this.o.cluster.store.get("/secrets", ns, name),
  };

  private onEvent(e: StoreEvent): void {
    if (this.stopped) return;
    if (e.storageKey === "/pods") {
      if (e.type === "DELETED") {
        const rt = this.pods.get(e.object.metadata.uid);
        // Removed without waiting for us (a forced deletion, grace period 0): kill at once.
        if (rt && !rt.stopping) this.background(this.stopPod(rt, 0, false), `stopping ${rt.name}`);
      } else this.onPod(e.object);
    }
    if (e.storageKey === "/configmaps" || e.storageKey === "/secrets") {
      for (const rt of this.pods.values()) {
        if (rt.namespace !== e.object.metadata.namespace || rt.stopping) continue;
        const pod = this.o.cluster.store.get("/pods", rt.namespace, rt.name);
        if (!pod) continue;
        try {
          this.writeVolumes(rt, pod);
          if (!rt.launched) this.launch(rt, pod);
          else for (const c of rt.containers) if (!c.child && c.state.reason === "CreateContainerConfigError") this.startContainer(rt, pod, c);
        } catch (err) {
          if (!(err instanceof ConfigError)) this.o.log(`kubelet: volumes of ${rt.namespace}/${rt.name}: ${(err as Error).message}`);
        }
      }
    }
  }

  private onPod(pod: Obj): void {
    const rt = this.pods.get(pod.metadata.uid);
    if (pod.metadata.deletionTimestamp) {
      if (rt && !rt.stopping) this.background(this.stopPod(rt, pod.metadata.deletionGracePeriodSeconds ?? 30, true), `stopping ${rt.name}`);
      else if (!rt) this.removePodObject(pod);
      return;
    }
    if (rt || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    this.startPod(pod);
  }

  private removePodObject(pod: Obj): void {
    try {
      this.o.cluster.delete(this.o.cluster.builtin("pods"), pod.metadata.namespace, pod.metadata.name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code !== 404 && code !== 409) this.o.log(`kubelet: delete ${pod.metadata.name}: ${(err as Error).message}`);
    }
  }

  private startPod(pod: Obj): void {
    const ns = pod.metadata.namespace;
    const dir = join(this.o.dir, `${ns}_${pod.metadata.name}_${pod.metadata.uid.slice(0, 8)}`);
    const rt: PodRuntime = {
      uid: pod.metadata.uid,
      namespace: ns,
      name: pod.metadata.name,
      ip: this.o.network.allocatePodIp(),
      dir,
      root: join(dir, "root"),
      startTime: nowTimestamp(),
      restartPolicy: pod.spec?.restartPolicy ?? "Always",
      initialized: false,
      containers: (pod.spec?.containers ?? []).map((c: Obj) => ({
        spec: c,
        state: { name: c.name, image: c.image ?? "", state: "waiting", reason: "ContainerCreating", ready: false, started: false, restartCount: 0 },
        timers: [],
        probeCounts: {},
      })),
      stopping: false,
      aborter: new AbortController(),
      launched: false,
      publishScheduled: false,
      mountPaths: [],
    };
    this.pods.set(rt.uid, rt);
    mkdirSync(join(dir, "logs"), { recursive: true });
    mkdirSync(rt.root, { recursive: true });
    mkdirSync(join(dir, "home"), { recursive: true });
    if (pod.spec?.nodeName !== NODE_NAME) {
      try {
        const bound = this.o.cluster.get(this.o.cluster.builtin("pods"), ns, pod.metadata.name);
        bound.spec.nodeName = NODE_NAME;
        this.o.cluster.update(this.o.cluster.builtin("pods"), ns, pod.metadata.name, bound, { fieldManager: "kube-scheduler" });
        recordEvent(this.o.cluster, bound, "Normal", "Scheduled", `Successfully assigned ${ns}/${pod.metadata.name} to ${NODE_NAME}`, { component: "default-scheduler" });
      } catch (err) {
        this.o.log(`kubelet: bind ${ns}/${pod.metadata.name}: ${(err as Error).message}`);
      }
    }
    this.publish(rt);
    try {
      this.writeVolumes(rt, pod);
    } catch (err) {
      if (err instanceof ConfigError) {
        // Waits (ContainerCreating) until the missing ConfigMap or Secret appears: see onEvent.
        for (const c of rt.containers) Object.assign(c.state, { reason: "ContainerCreating", message: err.message });
        this.event(rt, "Warning", "FailedMount", `MountVolume.SetUp failed: ${err.message}`);
        this.publish(rt);
        return;
      }
      throw err;
    }
    this.launch(rt, pod);
  }

  private launch(rt: PodRuntime, pod: Obj): void {
    rt.launched = true;
    this.background(this.runInitThenContainers(rt, pod), `starting ${rt.name}`);
  }

  private async runInitThenContainers(rt: PodRuntime, pod: Obj): Promise<void> {
    for (const init of pod.spec?.initContainers ?? []) {
      for (;;) {
        if (rt.stopping) return;
        const code = await this.runToCompletion(rt, pod, init);
        if (code === 0) break;
        if (rt.restartPolicy === "Never") {
          for (const c of rt.containers) Object.assign(c.state, { state: "terminated", exitCode: code, reason: "Init:Error", finishedAt: nowTimestamp() });
          this.publish(rt);
          return;
        }
        await sleep(1000);
      }
    }
    this.startContainers(rt, pod);
  }

  private runToCompletion(rt: PodRuntime, pod: Obj, spec: Obj): Promise<number> {
    let child: ChildProcess;
    try {
      child = this.spawnContainer(rt, pod, spec);
    } catch (err) {
      this.o.log(`kubelet: init container ${spec.name}: ${(err as Error).message}`);
      return Promise.resolve(1);
    }
    const code = new Promise<number>((done) => {
      child.on("error", () => done(127));
      child.on("close", (exitCode) => done(exitCode ?? 1));
    });
    rt.init = { child, exited: code.then(() => undefined) };
    return code.finally(() => {
      rt.init = undefined;
    });
  }

  private startContainers(rt: PodRuntime, pod: Obj): void {
    if (rt.stopping || this.stopped) return;
    rt.initialized = true;
    for (const c of rt.containers) this.startContainer(rt, pod, c);
  }

  private spawnContainer(rt: PodRuntime, pod: Obj, spec: Obj): ChildProcess {
    const withIp = { ...pod, status: { ...(pod.status ?? {}), podIP: rt.ip, podIPs: [{ ip: rt.ip }], hostIP: "127.0.0.1" }, spec: { ...pod.spec, nodeName: NODE_NAME } };
    const declared = containerEnv(withIp, spec, this.lookup);
    for (const [k, v] of Object.entries(declared)) declared[k] = rewriteMountPaths(v, rt.mountPaths, rt.root);
    const api = this.o.apiServer();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: join(rt.dir, "home"),
      HOSTNAME: pod.spec?.hostname ?? pod.metadata.name,
      KUBERNETES_SERVICE_HOST: api.host,
      KUBERNETES_SERVICE_PORT: String(api.port),
      KUBERNETES_SERVICE_PORT_HTTPS: String(api.port),
      KUBERNETES_PORT: `tcp://${api.host}:${api.port}`,
      KUBECONFIG: join(rt.dir, "kubeconfig"),
      NODE_EXTRA_CA_CERTS: join(rt.dir, "ca.crt"),
      HERALD_SIM_POD_ROOT: rt.root,
      ...(process.env.LANG ? { LANG: process.env.LANG } : {}),
      ...(pod.spec?.enableServiceLinks === false ? {} : serviceLinkEnv(this.o.cluster.store.list("/services", rt.namespace))),
      ...declared,
    };
    const proc = processFor(spec, env, this.heraldBin, process.execPath);
    const args = proc.args.map((a) => rewriteMountPaths(a, rt.mountPaths, rt.root));
    const cwd = this.workingDir(rt, spec.workingDir, proc.herald);
    // A restart keeps the last run's log as the previous one (`kubectl logs --previous`) and starts a new log.
    const logPath = join(rt.dir, "logs", `${spec.name}.log`);
    if (existsSync(logPath)) renameSync(logPath, join(rt.dir, "logs", `${spec.name}.previous.log`));
    const logFd = openSync(logPath, "a");
    try {
      return spawn(rewriteMountPaths(proc.file, rt.mountPaths, rt.root), args, { cwd, env, detached: true, stdio: ["ignore", logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
  }

  /**
   * A container's working directory: a mount path is rewritten into the pod root; another path is used
   * as is when it exists on this machine, else made inside the pod root (never on the host). Without
   * one: the repository root for `herald`, the pod root for other commands.
   */
  private workingDir(rt: PodRuntime, workingDir: string | undefined, herald: boolean): string {
    if (!workingDir) return herald ? this.root : rt.root;
    const rewritten = rewriteMountPaths(workingDir, rt.mountPaths, rt.root);
    if (rewritten !== workingDir || existsSync(workingDir)) return rewritten;
    const inRoot = join(rt.root, workingDir);
    mkdirSync(inRoot, { recursive: true });
    return inRoot;
  }

  /** Records an Event about a pod this kubelet runs. */
  private event(rt: PodRuntime, type: "Normal" | "Warning", reason: string, message: string): void {
    const pod = this.o.cluster.store.get("/pods", rt.namespace, rt.name);
    if (pod && pod.metadata.uid === rt.uid && !this.stopped) recordEvent(this.o.cluster, { ...pod, kind: "Pod", apiVersion: "v1" }, type, reason, message, { component: "kubelet", host: NODE_NAME });
  }

  /** Runs a kubelet task in the background; a failure is logged, never left unhandled. */
  private background(task: Promise<unknown>, what: string): void {
    task.catch((err: Error) => this.o.log(`kubelet: ${what}: ${err?.stack ?? err}`));
  }

  private startContainer(rt: PodRuntime, pod: Obj, c: Container): void {
    if (rt.stopping || this.stopped) return;
    if (!c.pulled) {
      const pulled = this.o.images.pull(String(c.spec.image ?? ""), c.spec.imagePullPolicy);
      if (!pulled.ok) return this.pullFailed(rt, c, pulled);
      c.pulled = true;
      this.event(rt, "Normal", "Pulled", c.pullFailures ? `Successfully pulled image "${c.spec.image}"` : `Container image "${c.spec.image}" already present on machine`);
    }
    let child: ChildProcess;
    try {
      child = this.spawnContainer(rt, pod, c.spec);
    } catch (err) {
      Object.assign(c.state, { state: "waiting", reason: err instanceof ConfigError ? "CreateContainerConfigError" : "CreateContainerError", message: (err as Error).message });
      this.event(rt, "Warning", "Failed", `Error: ${(err as Error).message}`);
      this.publish(rt);
      return;
    }
    c.child = child;
    const startedAt = nowTimestamp();
    const startedMs = Date.now();
    Object.assign(c.state, { state: "running", reason: undefined, message: undefined, pid: child.pid, startedAt, ready: false, started: !c.spec.startupProbe });
    c.probeCounts = {};
    this.event(rt, "Normal", "Started", `Started container ${c.spec.name}`);
    let spawnError: Error | undefined;
    c.exited = new Promise<void>((resolveExit) => {
      child.on("error", (err) => {
        spawnError = err;
      });
      child.on("close", (code, signal) => {
        for (const t of c.timers) clearTimeout(t);
        c.timers = [];
        c.child = undefined;
        const exitCode = code ?? (signal ? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGTERM" ? 15 : 1) : spawnError ? 128 : 1);
        const finishedAt = nowTimestamp();
        const reason = spawnError ? "StartError" : exitCode === 0 ? "Completed" : "Error";
        c.state.last = { exitCode, reason, startedAt, finishedAt };
        Object.assign(c.state, { state: "terminated", exitCode, reason, finishedAt, ready: false });
        resolveExit();
        if (rt.stopping || this.stopped) return;
        const restart = rt.restartPolicy === "Always" || (rt.restartPolicy === "OnFailure" && exitCode !== 0);
        if (restart) {
          const ranLong = Date.now() - startedMs > 10_000;
          const delay = ranLong ? 0 : Math.min(10_000, 500 * 2 ** Math.min(c.state.restartCount, 5));
          Object.assign(c.state, { state: "waiting", reason: delay > 0 ? "CrashLoopBackOff" : "ContainerCreating", message: spawnError?.message });
          if (delay > 0) this.event(rt, "Warning", "BackOff", `Back-off restarting failed container ${c.spec.name} in pod ${rt.name}_${rt.namespace}(${rt.uid})`);
          c.backoffTimer = setTimeout(() => {
            c.state.restartCount++;
            const current = this.o.cluster.store.get("/pods", rt.namespace, rt.name);
            if (current && !current.metadata.deletionTimestamp) this.startContainer(rt, current, c);
          }, delay);
        }
        this.publish(rt);
      });
    });
    this.startProbes(rt, c);
    this.publish(rt);
  }

  // ---- probes --------------------------------------------------------------------------------------

  /** A startup probe gates the other probes; without one, readiness and liveness start right away. */
  private startProbes(rt: PodRuntime, c: Container): void {
    const startup = c.spec.startupProbe;
    if (startup) c.timers.push(setTimeout(() => this.background(this.probeOnce(rt, c, "startupProbe"), "probe"), (startup.initialDelaySeconds ?? 0) * 1000));
    else this.startMainProbes(rt, c);
  }

  private startMainProbes(rt: PodRuntime, c: Container): void {
    c.state.started = true;
    if (!c.spec.readinessProbe) c.state.ready = true;
    for (const kind of ["readinessProbe", "livenessProbe"] as const) {
      const probe = c.spec[kind];
      if (!probe) continue;
      c.timers.push(setTimeout(() => this.background(this.probeOnce(rt, c, kind), "probe"), (probe.initialDelaySeconds ?? 0) * 1000));
    }
    this.publish(rt);
  }

  private async probeOnce(rt: PodRuntime, c: Container, kind: "startupProbe" | "readinessProbe" | "livenessProbe"): Promise<void> {
    if (!c.child || rt.stopping) return;
    const probe = c.spec[kind];
    const child = c.child;
    const ok = await runProbe(probe, { ip: rt.ip, ports: c.spec.ports ?? [], root: rt.root, mountPaths: rt.mountPaths, signal: rt.aborter.signal });
    if (c.child !== child || rt.stopping) return;
    const counts = (c.probeCounts[kind] ??= { ok: 0, fail: 0 });
    if (ok) {
      counts.ok++;
      counts.fail = 0;
    } else {
      counts.fail++;
      counts.ok = 0;
    }
    const failureThreshold = probe.failureThreshold ?? 3;
    const successThreshold = probe.successThreshold ?? 1;
    if (kind === "startupProbe") {
      if (counts.ok >= successThreshold) {
        this.startMainProbes(rt, c);
        return;
      }
      if (counts.fail >= failureThreshold) {
        this.killContainer(c, "SIGKILL");
        return;
      }
    } else if (kind === "readinessProbe") {
      if (counts.ok >= successThreshold && !c.state.ready) {
        c.state.ready = true;
        this.publish(rt);
      } else if (counts.fail >= failureThreshold && c.state.ready) {
        c.state.ready = false;
        this.event(rt, "Warning", "Unhealthy", "Readiness probe failed");
        this.publish(rt);
      }
    } else if (counts.fail >= failureThreshold) {
      this.event(rt, "Warning", "Unhealthy", "Liveness probe failed");
      this.event(rt, "Normal", "Killing", `Container ${c.spec.name} failed liveness probe, will be restarted`);
      this.killContainer(c, "SIGTERM");
      const grace = (this.o.cluster.store.get("/pods", rt.namespace, rt.name)?.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
      const escalate = setTimeout(() => this.killContainer(c, "SIGKILL"), grace);
      void c.exited?.then(() => clearTimeout(escalate));
      return;
    }
    c.timers.push(setTimeout(() => this.background(this.probeOnce(rt, c, kind), "probe"), (probe.periodSeconds ?? 10) * 1000));
  }

  // ---- stopping ----------------------------------------------------------------------------------

  private killContainer(c: Container, signal: NodeJS.Signals): void {
    killGroup(c.child?.pid, signal);
  }

  /** Stops a pod's processes: SIGTERM, then SIGKILL after `graceSeconds`; then removes the pod object. */
  private async stopPod(rt: PodRuntime, graceSeconds: number, removeObject: boolean): Promise<void> {
    rt.stopping = true;
    rt.aborter.abort();
    if (removeObject) for (const c of rt.containers) if (c.child) this.event(rt, "Normal", "Killing", `Stopping container ${c.spec.name}`);
    for (const c of rt.containers) {
      for (const t of c.timers) clearTimeout(t);
      if (c.backoffTimer) clearTimeout(c.backoffTimer);
      this.killContainer(c, graceSeconds > 0 ? "SIGTERM" : "SIGKILL");
    }
    if (rt.init) killGroup(rt.init.child.pid, graceSeconds > 0 ? "SIGTERM" : "SIGKILL");
    const exits = [...rt.containers.map((c) => (c.child ? c.exited : undefined)), rt.init?.exited].filter((p): p is Promise<void> => p !== undefined);
    let killTimer: NodeJS.Timeout | undefined;
    if (graceSeconds > 0 && exits.length > 0) {
      killTimer = setTimeout(() => {
        for (const c of rt.containers) this.killContainer(c, "SIGKILL");
        if (rt.init) killGroup(rt.init.child.pid, "SIGKILL");
      }, graceSeconds * 1000);
    }
    await Promise.all(exits);
    if (killTimer) clearTimeout(killTimer);
    if (removeObject && !this.stopped) {
      // Like the real kubelet: report the terminated containers, then remove the pod a moment later.
      // Clients that delete and then wait (kubectl delete) list the pod before it goes and so see its
      // DELETED event, even when a controller re-creates a pod of the same name at once.
      this.writeStatus(rt);
      await sleep(POD_REMOVAL_DELAY_MS);
      const pod = this.o.cluster.store.get("/pods", rt.namespace, rt.name);
      if (pod && pod.metadata.uid === rt.uid && !this.stopped) this.removePodObject(pod);
    }
    this.pods.delete(rt.uid);
    this.o.network.releasePodIp(rt.ip);
    rmSync(rt.dir, { recursive: true, force: true });
  }

  /** Kills every process this kubelet started (SIGTERM, SIGKILL after 2 s) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.unsubscribeImages();
    await Promise.allSettled([...this.pods.values()].map((rt) => this.stopPod(rt, 2, false)));
  }

  /** PIDs of the running container processes, init containers included (for tests). */
  pids(): number[] {
    return [...this.pods.values()].flatMap((rt) => [...rt.containers.map((c) => c.child?.pid), rt.init?.child.pid].filter((p): p is number => p !== undefined));
  }

  /** The log file of a container of a pod this kubelet runs (first container by default), and whether it is running. */
  logFile(namespace: string, name: string, container?: string, previous = false): { file: string; running: boolean } | undefined {
    const rt = [...this.pods.values()].find((p) => p.namespace === namespace && p.name === name);
    const c = rt?.containers.find((x) => x.spec.name === (container ?? rt.containers[0]?.spec.name));
    if (!rt || !c) return undefined;
    const file = join(rt.dir, "logs", `${c.spec.name}${previous ? ".previous" : ""}.log`);
    return existsSync(file) ? { file, running: !previous && c.child !== undefined } : undefined;
  }

  /** The log of a container of a running pod, or undefined. */
  logs(namespace: string, name: string, container?: string): string | undefined {
    const log = this.logFile(namespace, name, container);
    return log && readFileSync(log.file, "utf8");
  }

  /** The directory holding a pod's files (root/, volumes/, logs/, kubeconfig), or undefined. */
  podDir(namespace: string, name: string): string | undefined {
    return [...this.pods.values()].find((p) => p.namespace === namespace && p.name === name)?.dir;
  }

  // ---- status --------------------------------------------------------------------------------------

  /** Writes the pod's status soon (changes in the same tick are written once). */
  private publish(rt: PodRuntime): void {
    if (rt.publishScheduled) return;
    rt.publishScheduled = true;
    setImmediate(() => {
      rt.publishScheduled = false;
      if (!this.stopped) this.writeStatus(rt);
    });
  }

  private writeStatus(rt: PodRuntime): void {
    const pods = this.o.cluster.builtin("pods");
    const pod = this.o.cluster.store.get("/pods", rt.namespace, rt.name);
    if (!pod || pod.metadata.uid !== rt.uid) return;
    const state: PodRuntimeState = { ip: rt.ip, startTime: rt.startTime, initialized: rt.initialized, restartPolicy: rt.restartPolicy, containers: rt.containers.map((c) => c.state) };
    const status = podStatus(pod.status, state, nowTimestamp());
    try {
      this.o.cluster.update(pods, rt.namespace, rt.name, { ...pod, status }, { fieldManager: "kubelet" }, "status");
    } catch (err) {
      this.o.log(`kubelet: status of ${rt.namespace}/${rt.name}: ${(err as Error).message}`);
    }
  }

  // ---- volumes -------------------------------------------------------------------------------------

  /** Writes the pod's volumes, its CA and its service-account kubeconfig; remembers the mount paths. */
  private writeVolumes(rt: PodRuntime, pod: Obj): void {
    const ns = rt.namespace;
    const serviceAccount = pod.spec?.serviceAccountName ?? "default";
    const token = this.o.tokens.serviceAccountToken(ns, serviceAccount);
    rt.mountPaths = writePodVolumes({
      pod,
      podIp: rt.ip,
      dir: rt.dir,
      lookup: this.lookup,
      serviceAccount: { token: Buffer.from(token), "ca.crt": Buffer.from(this.o.caCert), namespace: Buffer.from(ns) },
    });
    const api = this.o.apiServer();
    writeFileSync(join(rt.dir, "ca.crt"), this.o.caCert);
    writeFileSync(
      join(rt.dir, "kubeconfig"),
      renderKubeconfig({ server: `https://${api.host}:${api.port}`, caCert: this.o.caCert, token, user: `system:serviceaccount:${ns}:${serviceAccount}`, namespace: ns }),
    );
  }
}
