// The simulator's pure logic: selectors, patches, schema checks, GC and workload decisions.
import { describe, expect, it } from "vitest";
import { gcActions } from "../../dev/simulator/gc.js";
import { applyJsonPatch, applyMergePatch, strategicMerge } from "../../dev/simulator/patch.js";
import { containerEnv, expandVars, processFor, rewriteMountPaths, serviceLinkEnv } from "../../dev/simulator/pod-spec.js";
import { applyDefaults, prune, validateSchema } from "../../dev/simulator/schema.js";
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from "../../dev/simulator/selectors.js";
import { endpointSubsets } from "../../dev/simulator/endpoints.js";
import { evalSimpleJsonPath } from "../../dev/simulator/objects.js";
import { deploymentPlan, statefulSetPlan, templateHash } from "../../dev/simulator/workload-plans.js";

describe("label and field selectors", () => {
  it("parses set-based and equality requirements, with commas inside parentheses", () => {
    const reqs = parseLabelSelector("app=web,tier in (a, b),!canary,env!=prod,team");
    expect(reqs.map((r) => r.op)).toEqual(["=", "in", "!exists", "!=", "exists"]);
    expect(matchesLabels(reqs, { app: "web", tier: "b", team: "x" })).toBe(true);
    expect(matchesLabels(reqs, { app: "web", tier: "c", team: "x" })).toBe(false);
    expect(matchesLabels(reqs, { app: "web", tier: "a", team: "x", canary: "1" })).toBe(false);
    expect(matchesLabels(reqs, { app: "web", tier: "a", env: "prod", team: "x" })).toBe(false);
    expect(matchesLabels(parseLabelSelector("x notin (1)"), {})).toBe(true);
  });

  it("matches field selectors on dotted paths", () => {
    const pod = { metadata: { name: "a", namespace: "ns" }, status: { phase: "Running" } };
    expect(matchesFields(parseFieldSelector("metadata.name=a,status.phase!=Failed"), pod)).toBe(true);
    expect(matchesFields(parseFieldSelector("metadata.name==b"), pod)).toBe(false);
  });
});

describe("printer-column JSONPath", () => {
  it("follows fields, indexes, wildcards, quoted keys and filters", () => {
    const o = { status: { conditions: [{ type: "Progressing", reason: "A" }, { type: "Ready", reason: "AllReady" }] }, metadata: { labels: { "a.b/c": "x" } }, spec: { l: [{ n: 1 }, { n: 2 }] } };
    expect(evalSimpleJsonPath(o, '.status.conditions[?(@.type=="Ready")].reason')).toBe("AllReady");
    expect(evalSimpleJsonPath(o, ".status.conditions[?(@.type!='Ready')].reason")).toBe("A");
    expect(evalSimpleJsonPath(o, ".metadata.labels['a.b/c']")).toBe("x");
    expect(evalSimpleJsonPath(o, ".spec.l[*].n")).toEqual([1, 2]);
    expect(evalSimpleJsonPath(o, ".spec.l[1].n")).toBe(2);
    expect(evalSimpleJsonPath(o, ".spec.missing")).toBeUndefined();
  });
});

describe("patches", () => {
  it("applies a JSON merge patch with null deleting keys and arrays replaced", () => {
    expect(applyMergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { a: null, b: { c: 5 }, l: [3] })).toEqual({ b: { c: 5, d: 3 }, l: [3] });
  });

  it("applies JSON patch operations and fails a failing test op", () => {
    const doc = { spec: { list: [1, 2] } };
    expect(applyJsonPatch(doc, [{ op: "add", path: "/spec/list/-", value: 3 }, { op: "replace", path: "/spec/list/0", value: 0 }, { op: "remove", path: "/spec/list/1" }])).toEqual({ spec: { list: [0, 3] } });
    expect(() => applyJsonPatch(doc, [{ op: "test", path: "/spec/list/0", value: 9 }])).toThrow(/failed/);
    expect(() => applyJsonPatch(doc, [{ op: "remove", path: "/spec/nope" }])).toThrow(/missing/);
  });

  it("merges containers, env and volumes by name and ports by containerPort in a strategic merge patch", () => {
    const sts = {
      spec: {
        template: {
          spec: {
            containers: [
              { name: "a", image: "a:1", env: [{ name: "X", value: "1" }, { name: "Y", value: "2" }], ports: [{ containerPort: 80, name: "http" }] },
              { name: "b", image: "b:1" },
            ],
            volumes: [{ name: "v1", emptyDir: {} }],
          },
        },
      },
    };
    const patch = {
      spec: {
        template: {
          spec: {
            containers: [{ name: "a", env: [{ name: "Y", value: "3" }, { name: "Z", value: "4" }], ports: [{ containerPort: 80, protocol: "TCP" }] }],
            volumes: [{ name: "v2", emptyDir: {} }],
          },
        },
      },
    };
    const out = strategicMerge(sts, patch) as any;
    const a = out.spec.template.spec.containers[0];
    expect(out.spec.template.spec.containers.map((c: any) => c.name)).toEqual(["a", "b"]);
    expect(a.image).toBe("a:1");
    expect(a.env).toEqual([{ name: "X", value: "1" }, { name: "Y", value: "3" }, { name: "Z", value: "4" }]);
    expect(a.ports).toEqual([{ containerPort: 80, name: "http", protocol: "TCP" }]);
    expect(out.spec.template.spec.volumes.map((v: any) => v.name)).toEqual(["v1", "v2"]);
  });

  it("honours $patch: delete, $setElementOrder and primitive finalizer merging", () => {
    const obj = { metadata: { finalizers: ["a"] }, spec: { containers: [{ name: "a" }, { name: "b" }, { name: "c" }] } };
    const out = strategicMerge(obj, {
      metadata: { finalizers: ["b"] },
      spec: { "$setElementOrder/containers": [{ name: "c" }, { name: "a" }], containers: [{ name: "b", $patch: "delete" }] },
    }) as any;
    expect(out.spec.containers.map((c: any) => c.name)).toEqual(["c", "a"]);
    expect(out.metadata.finalizers).toEqual(["a", "b"]);
  });
});

describe("structural schemas", () => {
  const schema = {
    type: "object",
    properties: {
      spec: {
        type: "object",
        required: ["image"],
        properties: {
          image: { type: "string", pattern: "^[a-z]+$" },
          replicas: { type: "integer", minimum: 0, maximum: 3, default: 1 },
          size: { type: "string", enum: ["s", "l"] },
          tags: { type: "array", maxItems: 1, items: { type: "string" } },
          free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        },
      },
    },
  };

  it("applies defaults and prunes unknown fields except where preserved", () => {
    const defaulted = applyDefaults(schema, { spec: { image: "x", free: { any: 1 }, junk: true } });
    const { value, unknown } = prune(schema, defaulted);
    expect(value).toEqual({ spec: { image: "x", replicas: 1, free: { any: 1 } } });
    expect(unknown).toEqual(["spec.junk"]);
  });

  it("reports every violation with the real server's field paths and reasons", () => {
    const causes = validateSchema(schema, { spec: { image: "X1", replicas: 7, size: "m", tags: ["a", "b"] } });
    expect(causes).toEqual([
      { reason: "FieldValueInvalid", field: "spec.image", message: `Invalid value: "X1": spec.image in body should match '^[a-z]+$'` },
      { reason: "FieldValueInvalid", field: "spec.replicas", message: "Invalid value: 7: spec.replicas in body should be less than or equal to 3" },
      { reason: "FieldValueNotSupported", field: "spec.size", message: `Unsupported value: "m": supported values: "s", "l"` },
      { reason: "FieldValueTooMany", field: "spec.tags", message: "Too many: 2: must have at most 1 items" },
    ]);
    expect(validateSchema(schema, { spec: { replicas: "2" } })).toEqual([
      { reason: "FieldValueRequired", field: "spec.image", message: "Required value" },
      { reason: "FieldValueTypeInvalid", field: "spec.replicas", message: `Invalid value: "string": spec.replicas in body must be of type integer: "string"` },
    ]);
  });
});

describe("garbage collection decisions", () => {
  const owner = { storageKey: "apps/statefulsets", object: { metadata: { name: "o", namespace: "n", uid: "u1" } } };
  const dep = { storageKey: "/pods", object: { metadata: { name: "d", namespace: "n", uid: "u2", ownerReferences: [{ uid: "u1", kind: "StatefulSet", name: "o" }] } } };

  it("deletes dependents whose owners are all gone, and only those", () => {
    expect(gcActions([owner, dep])).toEqual([]);
    expect(gcActions([dep]).map((a) => [a.action, a.target.object.metadata.name])).toEqual([["delete", "d"]]);
  });

  it("deletes dependents first in foreground deletion, then releases the owner", () => {
    const deleting = { ...owner, object: { metadata: { ...owner.object.metadata, deletionTimestamp: "t", finalizers: ["foregroundDeletion"] } } };
    expect(gcActions([deleting, dep]).map((a) => a.action)).toEqual(["delete"]);
    expect(gcActions([deleting])).toEqual([{ action: "removeFinalizer", target: deleting, finalizer: "foregroundDeletion" }]);
  });

  it("orphans dependents when the owner is deleted with the orphan policy", () => {
    const orphaning = { ...owner, object: { metadata: { ...owner.object.metadata, deletionTimestamp: "t", finalizers: ["orphan"] } } };
    expect(gcActions([orphaning, dep])[0]).toMatchObject({ action: "dropOwnerRef", ownerUid: "u1" });
  });
});

describe("workload decisions", () => {
  const sts = (replicas: number, policy = "OrderedReady") => ({
    metadata: { name: "web", uid: "s1", generation: 1 },
    spec: { replicas, podManagementPolicy: policy, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c" }] } } },
  });
  const pod = (ordinal: number, ready: boolean, hash = templateHash(sts(1))) => ({
    metadata: { name: `web-${ordinal}`, labels: { "controller-revision-hash": hash } },
    status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });

  it("creates StatefulSet ordinals one at a time, each after the previous is ready", () => {
    expect(statefulSetPlan(sts(3), [])).toEqual({ create: [0], delete: [] });
    expect(statefulSetPlan(sts(3), [pod(0, false)])).toEqual({ create: [], delete: [] });
    expect(statefulSetPlan(sts(3), [pod(0, true)])).toEqual({ create: [1], delete: [] });
    expect(statefulSetPlan(sts(3, "Parallel"), [])).toEqual({ create: [0, 1, 2], delete: [] });
  });

  it("scales a StatefulSet down from the highest ordinal", () => {
    expect(statefulSetPlan(sts(1), [pod(0, true), pod(1, true), pod(2, true)])).toEqual({ create: [], delete: ["web-2"] });
  });

  it("rolls a changed template from the highest ordinal when all pods are ready", () => {
    expect(statefulSetPlan(sts(2), [pod(0, true, "old"), pod(1, true, "old")])).toEqual({ create: [], delete: ["web-1"] });
  });

  it("surges one Deployment pod and removes an old one once a new one is ready", () => {
    const deploy = { metadata: { name: "d", uid: "d1" }, spec: { replicas: 1, template: { spec: { containers: [{ name: "c" }] } } } };
    const hash = templateHash(deploy);
    const p = (name: string, h: string, ready: boolean) => ({ metadata: { name, labels: { "pod-template-hash": h } }, status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } });
    expect(deploymentPlan(deploy, [p("old", "x", true)])).toEqual({ create: [0], delete: [] });
    expect(deploymentPlan(deploy, [p("old", "x", true), p("new", hash, false)])).toEqual({ create: [], delete: [] });
    expect(deploymentPlan(deploy, [p("old", "x", true), p("new", hash, true)])).toEqual({ create: [], delete: ["old"] });
  });
});

describe("pods as processes", () => {
  const pod = { metadata: { name: "p-0", namespace: "ns" }, status: { podIP: "127.1.2.3" } };
  const lookup = {
    configMap: (_ns: string, name: string) => (name === "cm" ? { data: { k: "from-cm" } } : undefined),
    secret: (_ns: string, name: string) => (name === "s" ? { data: { pw: Buffer.from("hunter2").toString("base64") } } : undefined),
  };

  it("resolves fieldRef, configMapKeyRef, secretKeyRef and $(VAR) references", () => {
    const env = containerEnv(
      pod,
      {
        env: [
          { name: "NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "K", valueFrom: { configMapKeyRef: { name: "cm", key: "k" } } },
          { name: "PW", valueFrom: { secretKeyRef: { name: "s", key: "pw" } } },
          { name: "URL", value: "http://$(IP):80/$(NOPE)" },
        ],
      },
      lookup,
    );
    expect(env).toEqual({ NAME: "p-0", IP: "127.1.2.3", K: "from-cm", PW: "hunter2", URL: "http://127.1.2.3:80/$(NOPE)" });
    expect(() => containerEnv(pod, { env: [{ name: "X", valueFrom: { secretKeyRef: { name: "missing", key: "a" } } }] }, lookup)).toThrow(/missing/);
  });

  it("maps `herald ...` to the repository's CLI and leaves other commands alone", () => {
    expect(processFor({ name: "c", command: ["herald", "push-node"] }, {}, "/repo/bin/herald.js", "/usr/bin/node")).toEqual({ file: "/usr/bin/node", args: ["/repo/bin/herald.js", "push-node"], herald: true });
    expect(processFor({ name: "c", image: "herald:1", args: ["push-node"] }, {}, "/b", "/n")).toEqual({ file: "/n", args: ["/b", "push-node"], herald: true });
    expect(processFor({ name: "c", command: ["sh", "-c"], args: ["echo $(A)"] }, { A: "x" }, "/b", "/n")).toEqual({ file: "sh", args: ["-c", "echo x"], herald: false });
    expect(() => processFor({ name: "c", image: "nginx" }, {}, "/b", "/n")).toThrow(/no command/);
    expect(expandVars("$$(A) $(A)", { A: "1" })).toBe("$(A) 1");
  });

  it("sets service-link variables for the Services of the namespace", () => {
    const svc = { metadata: { name: "push-login" }, spec: { clusterIP: "127.9.9.2", ports: [{ name: "http", port: 80 }] } };
    const headless = { metadata: { name: "push" }, spec: { clusterIP: "None", ports: [{ port: 3000 }] } };
    expect(serviceLinkEnv([svc, headless])).toEqual({ PUSH_LOGIN_SERVICE_HOST: "127.9.9.2", PUSH_LOGIN_SERVICE_PORT: "80", PUSH_LOGIN_SERVICE_PORT_HTTP: "80" });
  });

  it("rewrites mount paths in arguments into the pod's root directory", () => {
    expect(rewriteMountPaths("--config=/etc/herald/config.yaml", ["/etc/herald"], "/tmp/pod/root")).toBe("--config=/tmp/pod/root/etc/herald/config.yaml");
    expect(rewriteMountPaths("/etc/heraldic", ["/etc/herald"], "/r")).toBe("/etc/heraldic");
    expect(rewriteMountPaths("cat /etc/a/x; ls '/data'", ["/etc/a", "/data"], "/r")).toBe("cat /r/etc/a/x; ls '/r/data'");
    expect(rewriteMountPaths("http://host/data", ["/data"], "/r")).toBe("http://host/data");
    expect(rewriteMountPaths("/etc/a /tmp/b", ["/tmp", "/etc/a"], "/tmp/root")).toBe("/tmp/root/etc/a /tmp/root/tmp/b");
  });

  it("lists ready and not-ready endpoints with named target ports resolved", () => {
    const svc = { spec: { selector: { app: "a" }, ports: [{ name: "http", port: 80, targetPort: "web" }] } };
    const mk = (name: string, ip: string, ready: boolean) => ({
      metadata: { name, namespace: "n", uid: name, labels: { app: "a" } },
      spec: { containers: [{ ports: [{ name: "web", containerPort: 8080 }] }] },
      status: { podIP: ip, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
    });
    const [subset] = endpointSubsets(svc, [mk("p1", "127.0.0.2", true), mk("p2", "127.0.0.3", false)]);
    expect(subset!.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
    expect(subset!.addresses.map((a: any) => a.ip)).toEqual(["127.0.0.2"]);
    expect(subset!.notReadyAddresses.map((a: any) => a.ip)).toEqual(["127.0.0.3"]);
  });
});
