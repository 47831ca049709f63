// What the simulator refuses as a real cluster would, each checked with kubectl 1.32: images the
// registry does not have (ErrImagePull / ImagePullBackOff, InvalidImageName, ErrImageNeverPull),
// PodSecurity admission from namespace labels, the eviction API honouring PodDisruptionBudgets, and
// built-in kinds checked against the Kubernetes schema (the kubernetes-models package).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { parseImage, pull } from "../../dev/simulator/images.js";
import { podSecurityViolations } from "../../dev/simulator/pod-security.js";
import { checkBuiltin } from "../../dev/simulator/builtin-schema.js";
import { kubectl, waitFor } from "./helpers.js";

let sim: Simulator;
const k = (args: string[], stdin?: string) => kubectl(sim.kubeconfigPath, args, stdin);
const ok = async (args: string[], stdin?: string) => {
  const r = await k(args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const podStatus = async (ns: string, name: string) => (await ok(["-n", ns, "get", "pod", name, "--no-headers"])).trim().split(/\s+/)[2];
const waiting = async (ns: string, name: string) => JSON.parse(await ok(["-n", ns, "get", "pod", name, "-o", "json"])).status?.containerStatuses?.[0]?.state?.waiting ?? {};
const pod = (name: string, image: string, extra = "") => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: "${image}"
    command: [sleep, "300"]
${extra}`;

beforeAll(async () => {
  sim = await startSimulator();
}, 60_000);

afterAll(async () => {
  await sim?.stop();
});

describe("images", () => {
  it("parses references as a runtime does and pulls only what the registry has", () => {
    expect(parseImage("busybox")?.full).toBe("docker.io/library/busybox:latest");
    expect(parseImage("team/app:1.2")?.full).toBe("docker.io/team/app:1.2");
    expect(parseImage("localhost:5000/app")?.full).toBe("localhost:5000/app:latest");
    expect(parseImage("ghcr.io/herald-push/herald@sha256:" + "a".repeat(64))?.digest).toBe("sha256:" + "a".repeat(64));
    expect(parseImage("Busybox:1")).toBeNull();
    expect(parseImage("not valid")).toBeNull();
    expect(pull(["busybox:*"], "docker.io/library/busybox:1.36", "IfNotPresent")).toEqual({ ok: true });
    expect(pull(["ghcr.io/x/app:1"], "ghcr.io/x/app:2", "IfNotPresent")).toMatchObject({ ok: false, reason: "ErrImagePull" });
    expect(pull(["*"], "anything/at:all", "Always")).toEqual({ ok: true });
  });

  it("sends a pod whose image does not exist to ImagePullBackOff, and starts it once the image is fixed in place", async () => {
    await ok(["apply", "-f", "-"], pod("typo", "ghcr.io/herald-push/heral:0.1.0"));
    await waitFor("ImagePullBackOff in kubectl get pods", async () => (await podStatus("default", "typo")) === "ImagePullBackOff");
    expect(await waiting("default", "typo")).toEqual({ reason: "ImagePullBackOff", message: 'Back-off pulling image "ghcr.io/herald-push/heral:0.1.0"' });
    const events = await ok(["get", "events", "--field-selector", "involvedObject.name=typo"]);
    expect(events).toContain('Failed to pull image "ghcr.io/herald-push/heral:0.1.0": rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/herald-push/heral:0.1.0"');
    expect(events).toContain("Error: ErrImagePull");
    expect(events).toContain("Error: ImagePullBackOff");
    expect(sim.kubelet!.pids()).toHaveLength(0);
    await ok(["set", "image", "pod/typo", "c=ghcr.io/herald-push/herald:0.1.0"]);
    await waitFor("the pod Running on the fixed image", async () => (await podStatus("default", "typo")) === "Running", 30_000);
    await ok(["delete", "pod", "typo", "--wait=false"]);
  });

  it("starts a waiting pod as soon as its image is added to the registry (admin endpoint)", async () => {
    await ok(["apply", "-f", "-"], pod("private", "registry.example/team/app:7"));
    await waitFor("ErrImagePull or ImagePullBackOff", async () => ["ErrImagePull", "ImagePullBackOff"].includes((await podStatus("default", "private"))!));
    const res = await fetch(`${sim.adminUrl}/images`, { method: "POST", body: JSON.stringify({ image: "registry.example/team/app:7" }) });
    expect(res.status).toBe(201);
    await waitFor("the pod Running", async () => (await podStatus("default", "private")) === "Running", 5_000);
    await ok(["delete", "pod", "private", "--wait=false"]);
  });

  it("refuses an unparsable reference (InvalidImageName) and an absent image under pullPolicy Never", async () => {
    await ok(["apply", "-f", "-"], pod("bad-name", "Busybox:1"));
    await waitFor("InvalidImageName", async () => (await podStatus("default", "bad-name")) === "InvalidImageName");
    expect((await waiting("default", "bad-name")).message).toBe('Failed to apply default image tag "Busybox:1": couldn\'t parse image name "Busybox:1": invalid reference format');
    await ok(["apply", "-f", "-"], pod("never", "example.org/none:1").replace("    command:", "    imagePullPolicy: Never\n    command:"));
    await waitFor("ErrImageNeverPull", async () => (await podStatus("default", "never")) === "ErrImageNeverPull");
    expect((await waiting("default", "never")).message).toBe('Container image "example.org/none:1" is not present with pull policy of Never');
    await ok(["delete", "pod", "bad-name", "never", "--wait=false"]);
  });
});

describe("PodSecurity admission", () => {
  const restricted = `  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
`;
  const compliant = (name: string) =>
    pod(name, "busybox:1.36", restricted).replace('command: [sleep, "300"]', 'command: [sleep, "300"]\n    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}');

  it("refuses a pod that violates the namespace's enforced level, with the real message, and admits a compliant one", async () => {
    await ok(["create", "namespace", "locked"]);
    await ok(["label", "namespace", "locked", "pod-security.kubernetes.io/enforce=restricted"]);
    const refused = await k(["-n", "locked", "apply", "-f", "-"], pod("loose", "busybox:1.36"));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'Error from server (Forbidden): error when creating "STDIN": pods "loose" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    expect((await k(["-n", "locked", "get", "pod", "loose"])).stderr).toContain('pods "loose" not found');
    expect(await ok(["-n", "locked", "apply", "-f", "-"], compliant("tight"))).toBe("pod/tight created\n");
    await ok(["label", "namespace", "locked", "pod-security.kubernetes.io/enforce=baseline", "--overwrite"]);
    const privileged = await k(["-n", "locked", "apply", "-f", "-"], pod("root", "busybox:1.36").replace('command: [sleep, "300"]', 'command: [sleep, "300"]\n    securityContext: {privileged: true}'));
    expect(privileged.stderr).toContain('violates PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)');
    expect(await ok(["-n", "locked", "apply", "-f", "-"], pod("loose", "busybox:1.36"))).toBe("pod/loose created\n");
  });

  it("warns instead under the warn label, and for a workload's template; its controller's pods are refused", async () => {
    await ok(["create", "namespace", "watched"]);
    await ok(["label", "namespace", "watched", "pod-security.kubernetes.io/warn=restricted", "pod-security.kubernetes.io/warn-version=v1.32"]);
    const warned = await k(["-n", "watched", "apply", "-f", "-"], pod("loose", "busybox:1.36"));
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('Warning: would violate PodSecurity "restricted:v1.32": allowPrivilegeEscalation != false');
    await ok(["label", "namespace", "watched", "pod-security.kubernetes.io/enforce=restricted"]);
    const sts = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 1
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: busybox, command: [sleep, "300"]}]
`;
    const created = await k(["-n", "watched", "apply", "-f", "-"], sts);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('Warning: would violate PodSecurity "restricted:latest"');
    await waitFor("FailedCreate naming PodSecurity", async () => (await ok(["-n", "watched", "get", "events"])).includes('pods "web-0" is forbidden: violates PodSecurity "restricted:latest"'));
    expect((await ok(["-n", "watched", "get", "pods", "-l", "app=web", "-o", "name"])).trim()).toBe("");
  });

  it("checks what the Pod Security Standards check (pure)", () => {
    expect(podSecurityViolations("restricted", { securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, containers: [{ name: "c", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } } }] })).toEqual([]);
    expect(podSecurityViolations("baseline", { hostNetwork: true, volumes: [{ name: "h", hostPath: { path: "/" } }], containers: [{ name: "c", ports: [{ containerPort: 80, hostPort: 80 }] }] })).toEqual([
      "host namespaces (hostNetwork=true)",
      'hostPath volumes (volume "h")',
      'hostPort (container "c" uses hostPort 80)',
    ]);
    expect(podSecurityViolations("restricted", { securityContext: { runAsNonRoot: true, runAsUser: 0, seccompProfile: { type: "RuntimeDefault" } }, containers: [{ name: "a", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["SYS_TIME"] } } }] })).toEqual([
      'non-default capabilities (container "a" must not include "SYS_TIME" in securityContext.capabilities.add)',
      'unrestricted capabilities (container "a" must not include "SYS_TIME" in securityContext.capabilities.add)',
      "runAsUser=0 (pod must not set runAsUser=0)",
    ]);
    expect(podSecurityViolations("privileged", { hostPID: true, containers: [{ name: "c", securityContext: { privileged: true } }] })).toEqual([]);
  });
});

describe("the eviction API", () => {
  const evict = (name: string) =>
    k(["create", "--raw", `/api/v1/namespaces/evict/pods/${name}/eviction`, "-f", "-"], JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: "evict" } }));

  it("refuses with 429 an eviction the PodDisruptionBudget does not allow, and evicts when it does", async () => {
    await ok(["create", "namespace", "evict"]);
    await ok(["-n", "evict", "apply", "-f", "-"], `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 2
  podManagementPolicy: Parallel
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: busybox, command: [sleep, "300"], readinessProbe: {exec: {command: ["true"]}, initialDelaySeconds: 3, periodSeconds: 1}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
`);
    await ok(["-n", "evict", "rollout", "status", "statefulset/web", "--timeout=30s"]);
    const table = await waitFor("the budget's status", async () => {
      const t = await ok(["-n", "evict", "get", "pdb", "web"]);
      return /web\s+2\s+N\/A\s+0\s+/.test(t) && t;
    });
    expect(table.split("\n")[0]!.split(/\s{2,}/)).toEqual(["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"]);
    const refused = await evict("web-0");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("Error from server (TooManyRequests): Cannot evict pod as it would violate the pod's disruption budget.");
    expect(sim.audit.find({ verb: "create", resource: "pods", name: "web-0" }).some((e) => e.subresource === "eviction" && e.code === 429)).toBe(true);
    expect(JSON.parse(await ok(["-n", "evict", "get", "pod", "web-0", "-o", "json"])).metadata.deletionTimestamp).toBeUndefined();

    await ok(["-n", "evict", "patch", "pdb", "web", "--type=merge", "-p", '{"spec":{"minAvailable":1}}']);
    await waitFor("one disruption allowed", async () => JSON.parse(await ok(["-n", "evict", "get", "pdb", "web", "-o", "json"])).status?.disruptionsAllowed === 1);
    const first = await evict("web-0");
    expect(first.code).toBe(0);
    // web-0 is going: evicting web-1 now would leave none
    const second = await evict("web-1");
    expect(second.stderr).toContain("Cannot evict pod as it would violate the pod's disruption budget.");
    await waitFor("web-0 replaced and ready", async () => (await ok(["-n", "evict", "get", "pods", "-l", "app=web", "--no-headers"])).trim().split("\n").filter((l) => /\s1\/1\s+Running/.test(l)).length === 2, 30_000);
  });

  it("lets kubectl drain evict through the API, retrying while the budget forbids it", async () => {
    const drained = await k(["drain", "sim-node", "--pod-selector=app=web", "--timeout=4s"]);
    expect(drained.code).not.toBe(0);
    expect(drained.stdout + drained.stderr).toContain("Cannot evict pod as it would violate the pod's disruption budget.");
    await ok(["uncordon", "sim-node"]);
  });
});

describe("built-in kinds against the Kubernetes schema", () => {
  it("refuses a value of the wrong type while decoding (400), as the real server does", async () => {
    const r = await k(["apply", "-f", "-"], "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: typed}\nspec:\n  replicas: two\n  selector: {matchLabels: {app: t}}\n  template:\n    metadata: {labels: {app: t}}\n    spec: {containers: [{name: c, image: busybox}]}\n");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field .spec.replicas of type int32');
    const q = await k(["apply", "-f", "-"], pod("greedy", "busybox").replace('command: [sleep, "300"]', 'command: [sleep, "300"]\n    resources: {limits: {cpu: lots}}'));
    expect(q.stderr).toContain("quantities must match the regular expression");
    expect((await k(["get", "deployment", "typed"])).stderr).toContain("not found");
  });

  it("lists missing required fields and unsupported enum values among the 422 causes", async () => {
    const r = await k(["apply", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata: {name: nameless}\nspec:\n  restartPolicy: Sometimes\n  containers: [{image: busybox, command: [sleep, '1']}]\n");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('The Pod "nameless" is invalid:');
    expect(r.stderr).toContain("spec.containers[0].name: Required value");
    expect(r.stderr).toContain('spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"');
    const svc = await k(["create", "service", "clusterip", "plain", "--tcp=80:8080", "--dry-run=client", "-o", "json"]);
    const bad = { ...JSON.parse(svc.stdout), spec: { ...JSON.parse(svc.stdout).spec, type: "Nope" } };
    const refused = await k(["apply", "-f", "-"], JSON.stringify(bad));
    expect(refused.stderr).toContain('spec.type: Unsupported value: "Nope": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"');
  });

  it("knows the kinds the package ships and passes the rest through (pure)", () => {
    expect(checkBuiltin("policy/v1", "PodDisruptionBudget", { metadata: { name: "p" }, spec: { maxUnavailable: 1 } })).toEqual({ causes: [] });
    expect(checkBuiltin("v1", "Service", { metadata: { name: "s" }, spec: { ports: [{ port: "80" }] } }).decodeError).toBe("json: cannot unmarshal string into Go struct field .spec.ports[0].port of type int32");
    expect(checkBuiltin("example.com/v1", "Nothing", { anything: true })).toEqual({ causes: [] });
  });
});
