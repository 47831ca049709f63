// The project's own CRDs (crds/*.yaml, written by the operator work) applied with kubectl's default
// validation, served, and their schemas enforced by the simulator.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { kubectl } from "./helpers.js";

const crdDir = fileURLToPath(new URL("../../crds/", import.meta.url));
const crdFiles = readdirSync(crdDir).filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"));
const crds = crdFiles.flatMap((f) => YAML.parseAllDocuments(readFileSync(crdDir + f, "utf8")).map((d) => d.toJS())).filter((d) => d?.kind === "CustomResourceDefinition");

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ kubelet: false });
});
afterAll(async () => {
  await sim?.stop();
});

describe("the project's CRDs in the simulator", () => {
  it("has CRDs to check", () => {
    expect(crds.length).toBeGreaterThan(0);
  });

  it.each(crds.map((c) => [c.metadata.name, c]))("applies, establishes, serves and enforces %s", async (name, crd) => {
    const k = (args: string[], stdin?: string) => kubectl(sim.kubeconfigPath, args, stdin);
    const applied = await k(["apply", "-f", "-"], YAML.stringify(crd));
    expect(applied.stderr).toBe("");
    expect((await k(["wait", "--for=condition=Established", `crd/${name}`, "--timeout=10s"])).code).toBe(0);
    const resources = (await k(["api-resources", `--api-group=${crd.spec.group}`, "-o", "name"])).stdout;
    expect(resources).toContain(`${crd.spec.names.plural}.${crd.spec.group}`);

    const version = crd.spec.versions.find((v: any) => v.storage);
    const required: string[] = version.schema.openAPIV3Schema.properties?.spec?.required ?? [];
    const empty = YAML.stringify({
      apiVersion: `${crd.spec.group}/${version.name}`,
      kind: crd.spec.names.kind,
      metadata: { name: "empty", ...(crd.spec.scope === "Namespaced" ? { namespace: "default" } : {}) },
      spec: {},
    });
    const rejected = await k(["apply", "--dry-run=server", "-f", "-"], empty);
    if (required.length > 0) {
      expect(rejected.stderr).toContain(`The ${crd.spec.names.kind} "empty" is invalid`);
      for (const field of required) expect(rejected.stderr).toContain(`spec.${field}: Required value`);
    } else expect(rejected.code).toBe(0);
    expect((await k(["get", crd.spec.names.plural, "-A"])).code).toBe(0);
  });
});

describe("x-kubernetes-validations (CEL) in the PushCluster CRD", () => {
  const pushCluster = (autoscaling: string) => `apiVersion: herald.dev/v1alpha1
kind: PushCluster
metadata: { name: cel, namespace: default }
spec:
  redis: { url: "redis://127.0.0.1:6379" }
  auth: { mode: webhook, webhookUrl: "http://backend/login" }
  publishKeysSecretRef: { name: p }
  autoscaling: ${autoscaling}
`;

  it("refuses minReplicas above maxReplicas at admission, with the rule's message, and accepts the rest", async () => {
    const k = (args: string[], stdin?: string) => kubectl(sim.kubeconfigPath, args, stdin);
    const crd = crds.find((c) => c.metadata.name === "pushclusters.herald.dev");
    expect((await k(["apply", "-f", "-"], YAML.stringify(crd))).code).toBe(0);
    await k(["wait", "--for=condition=Established", "crd/pushclusters.herald.dev", "--timeout=10s"]);
    const refused = await k(["apply", "-f", "-"], pushCluster("{ enabled: true, minReplicas: 5, maxReplicas: 2 }"));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('The PushCluster "cel" is invalid: spec.autoscaling: Invalid value: "object": minReplicas must not be greater than maxReplicas');
    // the schema's defaults apply first: maxReplicas defaults to 10
    const aboveDefault = await k(["apply", "--dry-run=server", "-f", "-"], pushCluster("{ enabled: true, minReplicas: 11 }"));
    expect(aboveDefault.stderr).toContain("minReplicas must not be greater than maxReplicas");
    const fine = await k(["apply", "-f", "-"], pushCluster("{ enabled: true, minReplicas: 2, maxReplicas: 5 }"));
    expect(fine.stderr).toBe("");
    // an update that breaks the rule is refused too
    const patched = await k(["patch", "pushcluster", "cel", "--type=merge", "-p", '{"spec":{"autoscaling":{"minReplicas":9,"maxReplicas":3}}}']);
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toContain("minReplicas must not be greater than maxReplicas");
  });

  it("refuses expose.type Gateway without a gateway, and an unknown expose type", async () => {
    const k = (args: string[], stdin?: string) => kubectl(sim.kubeconfigPath, args, stdin);
    const gateway = await k(["apply", "--dry-run=server", "-f", "-"], `${pushCluster("{ enabled: false }")}  expose: { type: Gateway }\n`);
    expect(gateway.stderr).toContain('spec.expose: Invalid value: "object": expose.type Gateway needs expose.gateway.parentRefs');
    const unknown = await k(["apply", "--dry-run=server", "-f", "-"], `${pushCluster("{ enabled: false }")}  expose: { type: Route }\n`);
    expect(unknown.stderr).toContain('spec.expose.type: Unsupported value: "Route"');
    const lb = await k(["apply", "--dry-run=server", "-f", "-"], `${pushCluster("{ enabled: false }")}  expose: { type: LoadBalancer, service: { externalTrafficPolicy: Local } }\n`);
    expect(lb.stderr).toBe("");
  });
});
