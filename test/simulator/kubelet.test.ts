// The kubelet and network of the simulator: workloads become local processes on their own loopback
// IPs, with probes, volumes, env, restarts, graceful deletion, and Services forwarding to them.
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { get as httpGet } from "node:http";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import type { StoreEvent } from "../../dev/simulator/store.js";
import { alive, kubectl, waitFor } from "./helpers.js";

let sim: Simulator;
let core: CoreV1Api;
const k = (args: string[], stdin?: string) => kubectl(sim.kubeconfigPath, args, stdin);

beforeEach(async () => {
  sim = await startSimulator();
  const kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
});

afterEach(async () => {
  await sim.stop();
});

// A tiny HTTP server as the container: answers with its pod name, the mounted greeting and an env value.
const server = `
const http = require("http"), fs = require("fs");
http.createServer((q, s) => s.end([process.env.POD_NAME, fs.readFileSync(process.env.GREETING_FILE, "utf8"), process.env.SECRET].join(" ")))
  .listen(8080, process.env.POD_IP, () => console.log("listening on " + process.env.POD_IP));
`;

const webManifest = `
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret}
stringData: {token: s3cret}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 2
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: node:20
        command: [node, -e, ${JSON.stringify(server)}]
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: SECRET, valueFrom: {secretKeyRef: {name: web-secret, key: token}}}
        - {name: GREETING_FILE, value: /etc/web/greeting}
        ports: [{containerPort: 8080, name: http}]
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
        volumeMounts: [{name: cfg, mountPath: /etc/web}]
      volumes: [{name: cfg, configMap: {name: web-config}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;

/** GET over a new connection each time (Service proxies balance connections, as kube-proxy does). */
const get = (url: string) =>
  new Promise<string>((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
const pod = (name: string) => core.readNamespacedPod({ namespace: "default", name });
const isReady = (p: V1Pod) => (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

describe("the simulator's kubelet", () => {
  it("runs a StatefulSet in ordinal order, each pod on its own loopback IP, reachable through its Service", async () => {
    const events: StoreEvent[] = [];
    sim.cluster.store.subscribe((e) => e.storageKey === "/pods" && events.push(e));
    expect((await k(["apply", "-f", "-"], webManifest)).code).toBe(0);
    const rollout = await k(["rollout", "status", "statefulset/web", "--timeout=30s"]);
    expect(rollout.code).toBe(0);

    // web-1 was created only once web-0 was Ready.
    const web0Ready = events.find((e) => e.object.metadata.name === "web-0" && isReady(e.object as V1Pod))!;
    const web1Added = events.find((e) => e.object.metadata.name === "web-1" && e.type === "ADDED")!;
    expect(web0Ready.rv).toBeLessThan(web1Added.rv);

    const [p0, p1] = [await pod("web-0"), await pod("web-1")];
    const ips = [p0.status!.podIP!, p1.status!.podIP!];
    expect(new Set(ips).size).toBe(2);
    for (const ip of ips) expect(ip.startsWith(`${sim.network.podPrefix}.`)).toBe(true);
    expect(await get(`http://${ips[0]}:8080/`)).toBe("web-0 hello s3cret");
    expect(await get(`http://${ips[1]}:8080/`)).toBe("web-1 hello s3cret");
    expect(p0.spec!.hostname).toBe("web-0");
    expect(p0.metadata!.ownerReferences![0]).toMatchObject({ kind: "StatefulSet", name: "web", controller: true });

    const ep = await core.readNamespacedEndpoints({ namespace: "default", name: "web" });
    expect(ep.subsets![0]!.addresses!.map((a) => a.ip).sort()).toEqual([...ips].sort());
    expect(ep.subsets![0]!.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
    const svc = await core.readNamespacedService({ namespace: "default", name: "web" });
    expect(svc.spec!.clusterIP!.startsWith(`${sim.network.servicePrefix}.`)).toBe(true);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await get(`http://${svc.spec!.clusterIP}:80/`)).split(" ")[0]!);
    expect([...seen].sort()).toEqual(["web-0", "web-1"]);

    const described = (await k(["describe", "pod", "web-0"])).stdout;
    expect(described).toMatch(/Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/web-0 to sim-node/);
    expect(described).toMatch(/Normal\s+Started\s+\S+\s+kubelet\s+Started container web/);
    const created = await k(["get", "events", "--field-selector", "reason=SuccessfulCreate", "-o", "jsonpath={range .items[*]}{.message}{'\\n'}{end}"]);
    expect(created.stdout.trim().split("\n").sort()).toEqual(["create Pod web-0 in StatefulSet web successful", "create Pod web-1 in StatefulSet web successful"]);

    const logs = await k(["logs", "web-1"]);
    expect(logs.stdout).toBe(`listening on ${ips[1]}\n`);
    const table = await k(["get", "pods", "-o", "wide"]);
    expect(table.stdout).toMatch(new RegExp(`web-0\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${ips[0]!.replace(/\./g, "\\.")}`));
  });

  it("takes a pod that stops being ready out of its Service and puts it back when ready again", async () => {
    // Each pod answers 503 on /ready while the file "draining" exists in its root directory.
    const script = `
      const http = require("http"), fs = require("fs");
      http.createServer((q, s) => {
        if (q.url === "/ready" && fs.existsSync(process.env.HERALD_SIM_POD_ROOT + "/draining")) { s.statusCode = 503; return s.end(); }
        s.end(process.env.POD_NAME);
      }).listen(8080, process.env.POD_IP);`;
    const manifest = `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: drain}
spec:
  replicas: 2
  podManagementPolicy: Parallel
  serviceName: drain
  selector: {matchLabels: {app: drain}}
  template:
    metadata: {labels: {app: drain}}
    spec:
      containers:
      - name: c
        image: busybox
        command: [node, -e, ${JSON.stringify(script)}]
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Service
metadata: {name: drain}
spec:
  selector: {app: drain}
  ports: [{port: 80, targetPort: 8080}]
`;
    await k(["apply", "-f", "-"], manifest);
    await waitFor("both pods ready", async () => JSON.parse((await k(["get", "sts", "drain", "-o", "json"])).stdout).status.readyReplicas === 2);
    const svcIp = (await core.readNamespacedService({ namespace: "default", name: "drain" })).spec!.clusterIP!;
    const ip1 = (await pod("drain-1")).status!.podIP!;
    const flag = join(sim.kubelet!.podDir("default", "drain-1")!, "root", "draining");
    writeFileSync(flag, "");
    await waitFor("drain-1 to be not ready in the Endpoints", async () => {
      const subsets = (await core.readNamespacedEndpoints({ namespace: "default", name: "drain" })).subsets ?? [];
      return subsets[0]?.notReadyAddresses?.[0]?.ip === ip1 && subsets[0]?.addresses?.length === 1;
    });
    expect((await pod("drain-1")).status!.conditions!.find((c) => c.type === "Ready")!.status).toBe("False");
    await waitFor("the proxy to drop drain-1", () => Object.values(sim.network.proxyTable())[0]?.length === 1);
    for (let i = 0; i < 4; i++) expect(await get(`http://${svcIp}/`)).toBe("drain-0");
    unlinkSync(flag);
    await waitFor("drain-1 back in the Service", async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(await get(`http://${svcIp}/`));
      return seen.size === 2;
    });
  });

  it("keeps ConfigMap volumes current, scales down from the highest ordinal and stops the processes", async () => {
    await k(["apply", "-f", "-"], webManifest);
    await k(["rollout", "status", "statefulset/web", "--timeout=30s"]);
    const ip0 = (await pod("web-0")).status!.podIP!;
    await k(["patch", "configmap", "web-config", "-p", '{"data":{"greeting":"bonjour"}}']);
    await waitFor("the mounted file to change", async () => (await get(`http://${ip0}:8080/`)) === "web-0 bonjour s3cret");

    const pidOf = (name: string) => Number(sim.cluster.store.get("/pods", "default", name)!.status.containerStatuses[0].containerID.replace("sim://", ""));
    const pid1 = pidOf("web-1");
    expect(alive(pid1)).toBe(true);
    expect(readFileSync(join(sim.kubelet!.podDir("default", "web-1")!, "root", "etc", "web", "greeting"), "utf8")).toBe("bonjour");
    expect((await k(["scale", "statefulset", "web", "--replicas=1"])).code).toBe(0);
    await waitFor("web-1 to be gone", async () => (await k(["get", "pod", "web-1"])).stderr.includes("not found"));
    expect(alive(pid1)).toBe(false);
    expect((await pod("web-0")).metadata!.deletionTimestamp).toBeUndefined();
    await waitFor("the Service to forward to web-0 only", () => {
      const table = sim.network.proxyTable();
      return Object.values(table)[0]?.length === 1 && Object.values(table)[0]![0]!.ip === ip0;
    });

    const pid0 = pidOf("web-0");
    expect((await k(["delete", "statefulset", "web"])).code).toBe(0);
    await waitFor("web-0 to be collected", async () => (await core.listNamespacedPod({ namespace: "default" })).items.length === 0);
    expect(alive(pid0)).toBe(false);
    expect(Object.values(sim.network.proxyTable())).toEqual([[]]);
    expect((await k(["delete", "service", "web"])).code).toBe(0);
    await waitFor("the Endpoints and the proxy to go", async () => (await k(["get", "endpoints", "web"])).stderr.includes("not found") && Object.keys(sim.network.proxyTable()).length === 0);
  });

  it("serves container logs with --tail and follows them with -f until the container stops", async () => {
    const script = `let i = 0; const t = setInterval(() => { console.log("line " + ++i); if (i === 6) { clearInterval(t); } }, 150); setTimeout(() => {}, 2000);`;
    await core.createNamespacedPod({ namespace: "default", body: { metadata: { name: "chatty" }, spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox", command: ["node", "-e", script] }] } } });
    await waitFor("two lines", async () => (await k(["logs", "chatty"])).stdout.startsWith("line 1\nline 2\n"));
    const followed = await k(["logs", "-f", "chatty"]);
    expect(followed.stdout).toBe([1, 2, 3, 4, 5, 6].map((i) => `line ${i}\n`).join(""));
    expect(followed.code).toBe(0);
    expect((await k(["logs", "--tail=2", "chatty"])).stdout).toBe("line 5\nline 6\n");
  });

  it("creates no pod before its ServiceAccount exists, and the StatefulSet retries until it does", async () => {
    const denied = await k(["apply", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata: {name: lonely}\nspec:\n  serviceAccountName: robot\n  containers: [{name: c, image: busybox, command: [sleep, '300']}]\n");
    expect(denied.stderr).toContain('pods "lonely" is forbidden: error looking up service account default/robot: serviceaccount "robot" not found');
    const sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: bots}\nspec:\n  replicas: 1\n  serviceName: bots\n  selector: {matchLabels: {app: bots}}\n  template:\n    metadata: {labels: {app: bots}}\n    spec:\n      serviceAccountName: robot\n      containers: [{name: c, image: busybox, command: [sleep, '300']}]\n";
    await k(["apply", "-f", "-"], sts);
    await waitFor("a FailedCreate event", async () => (await k(["get", "events", "--field-selector", "reason=FailedCreate", "-o", "name"])).stdout !== "");
    await k(["create", "serviceaccount", "robot"]);
    await waitFor("bots-0 to run", async () => (await pod("bots-0").catch(() => undefined))?.status?.phase === "Running", 10_000);
  });

  it("restarts a crashing container with a growing restartCount and records its last exit", async () => {
    await core.createNamespacedPod({
      namespace: "default",
      body: { metadata: { name: "crasher" }, spec: { containers: [{ name: "c", image: "busybox", command: ["node", "-e", "setTimeout(() => process.exit(3), 100)"] }] } },
    });
    const p = await waitFor("two restarts", async () => {
      const cur = await pod("crasher");
      return (cur.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 && cur;
    });
    expect(p.status!.containerStatuses![0]!.lastState!.terminated).toMatchObject({ exitCode: 3, reason: "Error" });
    expect(p.status!.phase).toBe("Running");
  });

  it("keeps the last run's log for kubectl logs --previous", async () => {
    await core.createNamespacedPod({
      namespace: "default",
      body: { metadata: { name: "relived" }, spec: { containers: [{ name: "c", image: "busybox", command: ["node", "-e", "console.log('pid ' + process.pid); setTimeout(() => process.exit(3), 300)"] }] } },
    });
    const [previous, current] = await waitFor("a log from two runs", async () => {
      const prev = (await k(["logs", "--previous", "relived"])).stdout;
      const now = (await k(["logs", "relived"])).stdout;
      return /^pid \d+\n$/.test(prev) && /^pid \d+\n$/.test(now) && prev !== now && [prev, now];
    });
    expect(previous).not.toBe(current);
    // a container that never restarted has no previous log, as on a real cluster
    await core.createNamespacedPod({ namespace: "default", body: { metadata: { name: "steady" }, spec: { containers: [{ name: "c", image: "busybox", command: ["sleep", "300"] }] } } });
    const none = await k(["logs", "--previous", "steady"]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('previous terminated container "c" in pod "steady" not found');
    await core.deleteNamespacedPod({ namespace: "default", name: "steady", gracePeriodSeconds: 0 });
    await core.deleteNamespacedPod({ namespace: "default", name: "relived", gracePeriodSeconds: 0 });
  });

  it("restarts a container whose liveness probe fails", async () => {
    const script = `require("net").createServer(s => s.end()).listen(9000, process.env.IP); setTimeout(() => process.exit(0), 60000);`;
    await core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "unhealthy" },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "c",
              image: "busybox",
              command: ["node", "-e", script],
              env: [{ name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
              livenessProbe: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 1 },
            },
          ],
        },
      },
    });
    await waitFor("a liveness restart", async () => ((await pod("unhealthy")).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  });

  it("holds a container until the ConfigMap and Secret it needs exist", async () => {
    await core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "needy" },
        spec: {
          restartPolicy: "Never",
          containers: [
            {
              name: "c",
              image: "busybox",
              command: ["sh", "-c", "cat /etc/cfg/motd; echo \" $PW\""],
              env: [{ name: "PW", valueFrom: { secretKeyRef: { name: "later-secret", key: "pw" } } }],
              volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg" }],
            },
          ],
          volumes: [{ name: "cfg", configMap: { name: "later-config" } }],
        },
      },
    });
    const waitingReason = async () => (await pod("needy")).status?.containerStatuses?.[0]?.state?.waiting?.reason;
    expect(await waitFor("the pod to wait for its volume", async () => (await waitingReason()) === "ContainerCreating")).toBe(true);
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "later-config" }, data: { motd: "hi" } } });
    await waitFor("the pod to wait for its secret", async () => (await waitingReason()) === "CreateContainerConfigError");
    await core.createNamespacedSecret({ namespace: "default", body: { metadata: { name: "later-secret" }, stringData: { pw: "pw1" } } });
    await waitFor("the pod to succeed", async () => (await pod("needy")).status?.phase === "Succeeded");
    expect((await k(["logs", "needy"])).stdout).toBe("hi pw1\n");
  });

  it("runs init containers first and provides envFrom, Secret, downwardAPI and projected volumes, with exec and startup probes", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "settings" }, data: { MODE: "fast", LEVEL: "3" } } });
    await core.createNamespacedSecret({ namespace: "default", body: { metadata: { name: "creds" }, stringData: { user: "ada", password: "pw" } } });
    const script = [
      "cat /work/init-done",
      'echo "$APP_MODE $APP_LEVEL"',
      "cat /secrets/login-name; echo",
      "ls /secrets",
      "cat /info/name; echo",
      "cat /info/labels; echo",
      "test -s /projected/token && echo token-ok",
      "cat /projected/MODE; echo",
      "touch /work/ready",
      "sleep 30",
    ].join("; ");
    await core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "kitchen-sink", labels: { app: "sink" } },
        spec: {
          terminationGracePeriodSeconds: 1,
          initContainers: [{ name: "init", image: "busybox", command: ["sh", "-c", "echo init > /work/init-done"], volumeMounts: [{ name: "work", mountPath: "/work" }] }],
          containers: [
            {
              name: "main",
              image: "busybox",
              command: ["sh", "-c", script],
              envFrom: [{ configMapRef: { name: "settings" }, prefix: "APP_" }],
              volumeMounts: [
                { name: "work", mountPath: "/work" },
                { name: "secret", mountPath: "/secrets" },
                { name: "info", mountPath: "/info" },
                { name: "projected", mountPath: "/projected" },
              ],
              startupProbe: { exec: { command: ["test", "-f", "/work/init-done"] }, periodSeconds: 1 },
              readinessProbe: { exec: { command: ["test", "-f", "/work/ready"] }, periodSeconds: 1 },
            },
          ],
          volumes: [
            { name: "work", emptyDir: {} },
            { name: "secret", secret: { secretName: "creds", items: [{ key: "user", path: "login-name" }] } },
            { name: "info", downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }, { path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } },
            { name: "projected", projected: { sources: [{ serviceAccountToken: { path: "token" } }, { configMap: { name: "settings", items: [{ key: "MODE", path: "MODE" }] } }] } },
          ],
        },
      },
    });
    await waitFor("the pod to be ready", async () => isReady(await pod("kitchen-sink")), 20_000);
    expect((await k(["logs", "kitchen-sink", "-c", "main"])).stdout).toBe(["init", "fast 3", "ada", "login-name", "kitchen-sink", 'app="sink"', "token-ok", "fast", ""].join("\n"));
  });

  it("completes a pod with restartPolicy Never and reports Succeeded or Failed", async () => {
    await core.createNamespacedPod({ namespace: "default", body: { metadata: { name: "ok" }, spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "exit 0"] }] } } });
    await core.createNamespacedPod({ namespace: "default", body: { metadata: { name: "ko" }, spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "exit 7"] }] } } });
    await waitFor("ok to succeed", async () => (await pod("ok")).status?.phase === "Succeeded");
    const ko = await waitFor("ko to fail", async () => {
      const p = await pod("ko");
      return p.status?.phase === "Failed" && p;
    });
    expect(ko.status!.containerStatuses![0]!.state!.terminated!.exitCode).toBe(7);
  });

  it("sends SIGTERM on deletion and SIGKILL after the grace period", async () => {
    const stubborn = `process.on("SIGTERM", () => console.log("got SIGTERM, ignoring")); setInterval(() => {}, 1000); console.log("up");`;
    await core.createNamespacedPod({
      namespace: "default",
      body: { metadata: { name: "stubborn" }, spec: { terminationGracePeriodSeconds: 2, containers: [{ name: "c", image: "busybox", command: ["node", "-e", stubborn] }] } },
    });
    const running = await waitFor("the process to run", async () => {
      const p = await pod("stubborn");
      return p.status?.containerStatuses?.[0]?.state?.running && (await k(["logs", "stubborn"])).stdout === "up\n" && p;
    });
    const pid = Number(running.status!.containerStatuses![0]!.containerID!.replace("sim://", ""));
    const started = Date.now();
    await core.deleteNamespacedPod({ namespace: "default", name: "stubborn" });
    const terminating = await pod("stubborn");
    expect(terminating.metadata!.deletionTimestamp).toBeDefined();
    expect(terminating.metadata!.deletionGracePeriodSeconds).toBe(2);
    await waitFor("SIGTERM to reach the process", async () => (await k(["logs", "stubborn"])).stdout.includes("got SIGTERM"));
    expect(alive(pid)).toBe(true);
    await waitFor("the pod object to go", async () => (await core.listNamespacedPod({ namespace: "default" })).items.length === 0, 10_000);
    expect(alive(pid)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  it("kills at once on a forced deletion, and empties a namespace of running pods before removing it", async () => {
    await core.createNamespace({ body: { metadata: { name: "doomed" } } });
    const sleeper = (name: string) => ({ metadata: { name }, spec: { terminationGracePeriodSeconds: 30, containers: [{ name: "c", image: "busybox", command: ["sleep", "300"] }] } });
    await core.createNamespacedPod({ namespace: "doomed", body: sleeper("forced") });
    const stubborn = { name: "c", image: "busybox", command: ["sh", "-c", `trap "" TERM; sleep 300`] };
    await core.createNamespacedPod({ namespace: "doomed", body: { metadata: { name: "polite" }, spec: { terminationGracePeriodSeconds: 3, containers: [stubborn] } } });
    const pidOf = (name: string) =>
      waitFor(`${name}'s process`, async () => {
        const id = (await core.readNamespacedPod({ namespace: "doomed", name })).status?.containerStatuses?.[0]?.containerID;
        return id ? Number(id.replace("sim://", "")) : 0;
      });
    const [forced, polite] = [await pidOf("forced"), await pidOf("polite")];
    expect((await k(["-n", "doomed", "delete", "pod", "forced", "--force", "--grace-period=0"])).code).toBe(0);
    await waitFor("the forced pod's process to die", () => !alive(forced), 3000);

    const deleting = await k(["delete", "namespace", "doomed", "--wait=false"]);
    expect(deleting.code).toBe(0);
    const ns = await core.readNamespace({ name: "doomed" });
    expect(ns.status!.phase).toBe("Terminating");
    expect(alive(polite)).toBe(true);
    await waitFor("the namespace to go", async () => (await k(["get", "namespace", "doomed"])).stderr.includes("not found"));
    expect(alive(polite)).toBe(false);
  });

  it("stops a deleted pod that has a finalizer but keeps its object until the finalizer goes", async () => {
    await core.createNamespacedPod({
      namespace: "default",
      body: { metadata: { name: "held", finalizers: ["example.com/keep"] }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", command: ["sleep", "300"] }] } },
    });
    const pid = await waitFor("the process", async () => Number((await pod("held")).status?.containerStatuses?.[0]?.containerID?.replace("sim://", "") ?? 0));
    await core.deleteNamespacedPod({ namespace: "default", name: "held" });
    await waitFor("the process to stop", () => !alive(pid));
    const terminated = await waitFor("the terminated state to be reported", async () => {
      const p = await pod("held");
      return p.status?.containerStatuses?.[0]?.state?.terminated && p;
    });
    expect(terminated.metadata!.deletionTimestamp).toBeDefined();
    expect(terminated.metadata!.finalizers).toEqual(["example.com/keep"]);
    await core.patchNamespacedPod({ namespace: "default", name: "held", body: [{ op: "remove", path: "/metadata/finalizers" }] });
    await waitFor("the pod to go", async () => (await core.listNamespacedPod({ namespace: "default" })).items.length === 0);
  });

  it("gives pods a service-account token and a kubeconfig to reach the API as themselves", async () => {
    await core.createNamespace({ body: { metadata: { name: "apps" } } });
    await core.createNamespacedConfigMap({ namespace: "apps", body: { metadata: { name: "seen" }, data: { a: "b" } } });
    const script = `
      const k8s = await import("@kubernetes/client-node");
      const fs = await import("node:fs");
      const kc = new k8s.KubeConfig(); kc.loadFromDefault();
      // A literal mount path in the command line is rewritten into the pod's root by the kubelet.
      const ns = fs.readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "utf8");
      const list = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedConfigMap({ namespace: ns });
      console.log(ns, process.env.KUBERNETES_SERVICE_HOST, list.items.map((i) => i.metadata.name).join(","));`;
    await core.createNamespacedPod({
      namespace: "apps",
      body: {
        metadata: { name: "client" },
        spec: { restartPolicy: "Never", serviceAccountName: "default", containers: [{ name: "c", image: "busybox", workingDir: process.cwd(), command: ["node", "--input-type=module", "-e", script] }] },
      },
    });
    await waitFor("the pod to finish", async () => (await core.readNamespacedPod({ namespace: "apps", name: "client" })).status?.phase === "Succeeded", 20_000);
    expect((await k(["-n", "apps", "logs", "client"])).stdout).toBe("apps 127.0.0.1 seen\n");
    expect(sim.audit.find({ verb: "list", resource: "configmaps", namespace: "apps" }).map((e) => e.user)).toEqual(["system:serviceaccount:apps:default"]);
  });

  it("rolls a Deployment to a new template and reports it complete", async () => {
    const deploy = (greeting: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: api
        image: busybox
        command: [node, -e, 'require("http").createServer((q, s) => s.end(process.env.G)).listen(8080, process.env.IP)']
        env:
        - {name: G, value: ${greeting}}
        - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
`;
    await k(["apply", "-f", "-"], deploy("one"));
    expect((await k(["rollout", "status", "deployment/api", "--timeout=30s"])).code).toBe(0);
    await k(["apply", "-f", "-"], deploy("two"));
    expect((await k(["rollout", "status", "deployment/api", "--timeout=30s"])).code).toBe(0);
    const pods = await waitFor("only new pods", async () => {
      const list = (await core.listNamespacedPod({ namespace: "default", labelSelector: "app=api" })).items;
      return list.length === 2 && list.every((p) => !p.metadata!.deletionTimestamp) && list;
    });
    for (const p of pods) expect(await get(`http://${p.status!.podIP}:8080/`)).toBe("two");
  });

  it("keeps OnDelete StatefulSet pods on their old template until they are deleted, and starts Parallel pods together", async () => {
    const sts = (value: string) => `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: nodes}
spec:
  replicas: 3
  podManagementPolicy: Parallel
  updateStrategy: {type: OnDelete}
  serviceName: nodes
  selector: {matchLabels: {app: nodes}}
  template:
    metadata: {labels: {app: nodes}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: busybox, command: [sleep, "300"], env: [{name: V, value: "${value}"}]}]
`;
    const events: StoreEvent[] = [];
    sim.cluster.store.subscribe((e) => e.storageKey === "/pods" && e.type === "ADDED" && events.push(e));
    await k(["apply", "-f", "-"], sts("one"));
    await waitFor("three pods created", () => events.length === 3);
    // Parallel: all three were created before any of them was running.
    expect(events.every((e) => e.object.status?.phase === "Pending")).toBe(true);
    // (kubectl rollout status refuses OnDelete StatefulSets, as against a real cluster.)
    await waitFor("three ready replicas", async () => JSON.parse((await k(["get", "sts", "nodes", "-o", "json"])).stdout).status.readyReplicas === 3);
    const revisionOf = async (name: string) => (await pod(name)).metadata!.labels!["controller-revision-hash"];
    const oldRevision = await revisionOf("nodes-1");
    await k(["apply", "-f", "-"], sts("two"));
    const envOf = async (name: string) => (await pod(name)).spec!.containers[0]!.env![0]!.value;
    await waitFor("the StatefulSet status to see the new revision", async () => {
      const s = JSON.parse((await k(["get", "sts", "nodes", "-o", "json"])).stdout);
      return s.status.observedGeneration === 2 && s.status.updatedReplicas === 0;
    });
    expect([await envOf("nodes-0"), await envOf("nodes-1"), await envOf("nodes-2")]).toEqual(["one", "one", "one"]);
    const oldUid = (await pod("nodes-1")).metadata!.uid;
    // kubectl waits for the deletion even though the controller re-creates nodes-1 at once.
    const deleted = await k(["delete", "pod", "nodes-1", "--timeout=10s"]);
    expect(deleted).toMatchObject({ code: 0, stdout: 'pod "nodes-1" deleted\n' });
    await waitFor("nodes-1 to come back", async () => {
      const p = await pod("nodes-1").catch(() => undefined);
      return p && p.metadata!.uid !== oldUid && isReady(p);
    });
    expect(await envOf("nodes-1")).toBe("two");
    expect(await revisionOf("nodes-1")).not.toBe(oldRevision);
    expect([await envOf("nodes-0"), await envOf("nodes-2")]).toEqual(["one", "one"]);
    await waitFor("updatedReplicas to be 1", async () => JSON.parse((await k(["get", "sts", "nodes", "-o", "json"])).stdout).status.updatedReplicas === 1);
  });

  it("gives simulators running at the same time distinct address ranges, claimed until they stop", async () => {
    const others = await Promise.all([startSimulator({ kubelet: false }), startSimulator({ kubelet: false })]);
    const prefixes = [sim, ...others].map((x) => x.network.podPrefix);
    expect(new Set(prefixes).size).toBe(3);
    const lock = join(tmpdir(), "herald-sim-networks", others[0]!.network.podPrefix);
    expect(readFileSync(lock, "utf8")).toBe(String(process.pid));
    await Promise.all(others.map((o) => o.stop()));
    expect(existsSync(lock)).toBe(false);
  });

  it("stop() kills every process it started, init containers included", async () => {
    await k(["apply", "-f", "-"], webManifest);
    await k(["rollout", "status", "statefulset/web", "--timeout=30s"]);
    await core.createNamespacedPod({
      namespace: "default",
      body: { metadata: { name: "initializing" }, spec: { initContainers: [{ name: "slow", image: "busybox", command: ["sleep", "300"] }], containers: [{ name: "c", image: "busybox", command: ["sleep", "300"] }] } },
    });
    const pids = await waitFor("three processes", () => sim.kubelet!.pids().length === 3 && sim.kubelet!.pids());
    await sim.stop();
    for (const pid of pids) expect(alive(pid)).toBe(false);
    sim = await startSimulator({ kubelet: false });
  });
});
