// A whole Herald on one machine for end-to-end tests: a real redis-server, the Kubernetes API simulator
// (whose kubelet runs push-node pods as real processes), the CRD applied with kubectl, and `herald operator`.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { kubectl } from "../simulator/helpers.js";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { startRedis, type RedisServer } from "./redis.js";
import { freePort, until } from "./ports.js";
import { HERALD, ROOT, TICKET_SECRET, PUBLISH_KEY } from "./push-node.js";

// One way to run kubectl in every test: the simulator suite's (its HOME and cache live in the simulator's dir).
export { kubectl } from "../simulator/helpers.js";

export async function kubectlOk(kubeconfig: string, args: string[], stdin?: string): Promise<string> {
  const r = await kubectl(kubeconfig, args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

export interface OperatorProcess {
  proc: ChildProcess;
  metricsUrl: string;
  logs(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

export async function startOperator(kubeconfig: string, env: Record<string, string> = {}): Promise<OperatorProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [HERALD, "operator"], {
    env: { PATH: process.env.PATH ?? "", KUBECONFIG: kubeconfig, POD_NAMESPACE: "herald-system", METRICS_PORT: String(port), METRICS_HOST: "127.0.0.1", HERALD_RESYNC_SECONDS: "2", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  // A loaded machine can take long to start a Node process: wait long, and say why if it exited instead.
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  await until(async () => {
    if (exitCode !== undefined) throw new Error(`the operator exited (${exitCode}) before serving /metrics:\n${out}`);
    return (await fetch(metricsUrl)).ok;
  }, "operator metrics endpoint", 50_000, 100);
  return {
    proc,
    metricsUrl,
    logs: () => out,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exited;
    },
    async kill9() {
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

export interface HeraldWorld {
  sim: Simulator;
  redis: RedisServer;
  kubeconfig: string;
  kubectl(args: string[], stdin?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Simulator + Redis + CRD + namespace "apps" with the Secrets a PushCluster refers to. */
export async function startWorld(opts: { rbac?: boolean } = {}): Promise<HeraldWorld> {
  const redis = await startRedis();
  const sim = await startSimulator({ rbac: opts.rbac ?? false });
  const kubeconfig = sim.kubeconfigPath;
  const k = (args: string[], stdin?: string) => kubectlOk(kubeconfig, args, stdin);
  await k(["apply", "-f", join(ROOT, "crds/pushcluster.yaml")]);
  await k(["create", "namespace", "apps"]);
  await k(["create", "namespace", "herald-system"]);
  await k(["-n", "apps", "create", "secret", "generic", "herald-ticket", `--from-literal=secret=${TICKET_SECRET}`]);
  await k(["-n", "apps", "create", "secret", "generic", "herald-publish", `--from-literal=keys=${PUBLISH_KEY}`]);
  await until(async () => (await kubectl(kubeconfig, ["get", "pushclusters", "-A"])).code === 0, "the PushCluster resource to be served");
  return {
    sim,
    redis,
    kubeconfig,
    kubectl: k,
    async stop() {
      await sim.stop();
      await redis.stop();
    },
  };
}

export function pushClusterYaml(name: string, redisUrl: string, extra = ""): string {
  return `apiVersion: herald.dev/v1alpha1
kind: PushCluster
metadata:
  name: ${name}
  namespace: apps
spec:
  replicas: 3
  redis:
    url: ${redisUrl}
  auth:
    mode: ticket
    ticketSecretRef: { name: herald-ticket }
  publishKeysSecretRef: { name: herald-publish }
  drainGracePeriodSeconds: 20
  env:
    - { name: HERALD_HEARTBEAT_MS, value: "250" }
${extra}`;
}
