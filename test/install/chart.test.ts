// The Helm chart, checked without helm (none can be installed here): Chart.yaml as `helm lint` checks
// it; values.yaml documented line by line and accepted by values.schema.json, wrong values files refused;
// every template is YAML once its actions are taken out; rendered with the defaults (test/install/
// helm-lite.ts) it is object for object what deploy/ holds (as kubectl's kustomize builds it); other
// values render what they promise; the CRD copies are identical.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { Ajv } from "ajv";
import { parse, parseAllDocuments } from "yaml";
import { ROOT } from "../helpers/push-node.js";
import { HelmLite, stripActions } from "./helm-lite.js";
import { ruleStrings } from "./rbac-rules.js";

const CHART = join(ROOT, "charts/herald");
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");
const defaults = parse(read("charts/herald/values.yaml"));
const schema = JSON.parse(read("charts/herald/values.schema.json"));
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
const helm = new HelmLite(CHART);
const FIXTURES = join(ROOT, "test/install/fixtures/values");

/** Helm's merge of a values file over the defaults: maps merge, a null removes the key, everything else replaces. */
function merge(base: any, over: any): any {
  if (over === null || typeof over !== "object" || Array.isArray(over) || base === null || typeof base !== "object" || Array.isArray(base)) return over === undefined ? base : over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = merge(base[k], v);
  }
  return out;
}
const withValues = (over: any) => merge(structuredClone(defaults), over);
const renderObjects = (values: any, release?: { Name: string; Namespace: string }) => helm.renderAll(helm.context(values, release)).flatMap((f) => f.objects);
const key = (o: any) => `${o.kind}/${o.metadata.namespace ?? "-"}/${o.metadata.name}`;

/** Drops the labels only Helm sets (deploy/ has no chart and no managing tool to name). */
function withoutHelmLabels(o: any): any {
  if (Array.isArray(o)) return o.map(withoutHelmLabels);
  if (o === null || typeof o !== "object") return o;
  const out: any = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === "labels" && v && typeof v === "object") {
      const { ["helm.sh/chart"]: _c, ["app.kubernetes.io/managed-by"]: _m, ...rest } = v as Record<string, string>;
      out[k] = rest;
    } else out[k] = withoutHelmLabels(v);
  }
  return out;
}

describe("Chart.yaml, as helm lint checks it", () => {
  const chart = parse(read("charts/herald/Chart.yaml"));
  it("has the required fields, valid versions and a kubeVersion constraint", () => {
    expect(chart.apiVersion).toBe("v2");
    expect(chart.name).toBe("herald"); // = the directory name
    expect(chart.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    // SemVer 2 (helm lint: "version is required" / "is not a valid SemVerV2")
    expect(chart.version).toMatch(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/);
    expect(typeof chart.appVersion).toBe("string");
    expect(chart.appVersion).toBe(JSON.parse(read("package.json")).version);
    expect(["application", "library"]).toContain(chart.type);
    expect(chart.kubeVersion).toMatch(/^>=\s*1\.\d+\.\d+(-0)?$/);
    expect(chart.description.length).toBeGreaterThan(10);
    for (const m of chart.maintainers) expect(m.name).toBeTruthy();
    for (const u of [chart.home, ...chart.sources]) expect(u).toMatch(/^https:\/\//);
    expect(chart.dependencies).toBeUndefined();
  });

  it("has the files a chart needs, and the image's default tag is the appVersion", () => {
    const files = readdirSync(CHART);
    for (const f of ["Chart.yaml", "values.yaml", "values.schema.json", "templates", "crds", ".helmignore"]) expect(files).toContain(f);
    const templates = readdirSync(join(CHART, "templates"));
    expect(templates).toEqual(expect.arrayContaining(["_helpers.tpl", "NOTES.txt"]));
    expect(defaults.image.tag).toBe("");
    expect(parse(read("crds/pushcluster.yaml")).spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.image.default).toBe(`${defaults.image.repository}:${chart.appVersion}`);
  });

  it("ships a CRD identical to crds/pushcluster.yaml (and so does deploy/)", () => {
    expect(readdirSync(join(CHART, "crds"))).toEqual(["pushcluster.yaml"]);
    expect(read("charts/herald/crds/pushcluster.yaml")).toBe(read("crds/pushcluster.yaml"));
    expect(read("deploy/pushcluster-crd.yaml")).toBe(read("crds/pushcluster.yaml"));
  });
});

describe("values.yaml and values.schema.json", () => {
  it("documents every key on the line above it", () => {
    const lines = read("charts/herald/values.yaml").split("\n");
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      if (!/^\s*[A-Za-z_][\w.-]*:/.test(line)) return;
      let j = i - 1;
      while (j >= 0 && lines[j]!.trim() === "") j--;
      if (!lines[j]?.trim().startsWith("#")) undocumented.push(`${i + 1}: ${line.trim()}`);
    });
    expect(undocumented).toEqual([]);
  });

  it("the schema accepts the defaults and the good examples", () => {
    expect(validate(defaults), JSON.stringify(validate.errors)).toBe(true);
    const good = readdirSync(FIXTURES).filter((f) => f.startsWith("good-"));
    expect(good.length).toBeGreaterThanOrEqual(3);
    for (const f of good) expect(validate(withValues(parse(readFileSync(join(FIXTURES, f), "utf8")))), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true);
  });

  it("the schema refuses each wrong values file, at the place the file says", () => {
    const bad = readdirSync(FIXTURES).filter((f) => f.startsWith("bad-"));
    expect(bad.length).toBeGreaterThanOrEqual(10);
    for (const f of bad) {
      const text = readFileSync(join(FIXTURES, f), "utf8");
      const [, path, keyword] = /^# expect: (\S+) (\w+)/.exec(text)!;
      expect(validate(withValues(parse(text))), f).toBe(false);
      const errors = validate.errors!.map((e) => `${e.instancePath || "/"} ${e.keyword}`);
      expect(errors, f).toContain(`${path} ${keyword}`);
    }
  });

  it("pushCluster.spec is checked with the CRD's own schema", () => {
    const crdSpec = parse(read("crds/pushcluster.yaml")).spec.versions[0].schema.openAPIV3Schema.properties.spec;
    const { additionalProperties, ...spec } = schema.properties.pushCluster.properties.spec;
    expect(additionalProperties).toBe(false);
    expect(spec).toEqual(crdSpec);
  });

  it("every value is used by a template, and every value a template reads exists", () => {
    const sources = readdirSync(join(CHART, "templates"))
      .map((f) => readFileSync(join(CHART, "templates", f), "utf8"))
      .join("\n");
    const read = new Set([...sources.matchAll(/\.Values((?:\.\w+)+)/g)].map((m) => m[1]!.slice(1)));
    const has = (path: string) => path.split(".").reduce<any>((v, k) => (v && typeof v === "object" && k in v ? v[k] : undefined), defaults) !== undefined;
    // under pushCluster.spec, a template may read what the CRD's schema allows but the defaults leave out
    const inSchema = (path: string) => path.split(".").reduce<any>((s, k) => s?.properties?.[k], schema) !== undefined;
    expect([...read].filter((p) => !has(p) && !(p.startsWith("pushCluster.spec.") && inSchema(p)))).toEqual([]);
    expect(inSchema("pushCluster.spec.nothing")).toBe(false);
    const leaves: string[] = [];
    const walk = (v: any, path: string) => {
      // a map read as a whole (toYaml, with) counts as used
      if (read.has(path)) return;
      if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
      else leaves.push(path);
    };
    walk(defaults, "");
    expect(leaves).toEqual([]);
  });
});

describe("the templates", () => {
  const files = readdirSync(join(CHART, "templates")).filter((f) => f.endsWith(".yaml"));

  it("are YAML once their actions are taken out", () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
    for (const f of files) {
      const docs = parseAllDocuments(stripActions(readFileSync(join(CHART, "templates", f), "utf8")), { uniqueKeys: true });
      for (const d of docs) expect(d.errors.map((e) => e.message), f).toEqual([]);
      expect(docs.map((d) => d.toJS()).filter(Boolean).length, f).toBe(1);
    }
  });

  it("include only helpers that _helpers.tpl defines", () => {
    const helpers = read("charts/herald/templates/_helpers.tpl");
    const defined = new Set([...helpers.matchAll(/define "([^"]+)"/g)].map((m) => m[1]));
    for (const f of [...files, "NOTES.txt", "_helpers.tpl"]) for (const m of readFileSync(join(CHART, "templates", f), "utf8").matchAll(/include "([^"]+)"/g)) expect(defined.has(m[1]), `${f}: ${m[1]}`).toBe(true);
    expect(helpers).toContain("app.kubernetes.io/managed-by: {{ .Release.Service }}");
    expect(helpers).toContain("helm.sh/chart:");
  });

  it("render with the default values exactly what deploy/ holds (kubectl kustomize deploy/)", () => {
    const chart = renderObjects(defaults);
    const deploy = parseAllDocuments(execFileSync("kubectl", ["kustomize", join(ROOT, "deploy")], { encoding: "utf8" })).map((d) => d.toJS());
    const crd = parse(read("charts/herald/crds/pushcluster.yaml"));
    // the chart's CRD comes from crds/; deploy/ also makes the namespace (helm install --create-namespace)
    const fromChart = [...chart, crd].map(key).sort();
    const fromDeploy = deploy.filter((o) => o.kind !== "Namespace").map(key).sort();
    expect(fromChart).toEqual(fromDeploy);
    expect(deploy.find((o) => o.kind === "Namespace").metadata.name).toBe("herald-system");
    for (const o of chart) expect(withoutHelmLabels(o), key(o)).toEqual(deploy.find((d) => key(d) === key(o)));
    expect(ruleStrings(chart)).toEqual(ruleStrings(deploy));
    // the Helm-only labels are there
    for (const o of chart) expect(o.metadata.labels).toMatchObject({ "helm.sh/chart": "herald-0.1.0", "app.kubernetes.io/managed-by": "Helm" });
  });

  it("deploy/ can be moved to another namespace and image by a kustomization on top (docs/install.md)", () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-overlay-"));
    try {
      writeFileSync(
        join(dir, "kustomization.yaml"),
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: push-system\nresources:\n  - ${relative(dir, join(ROOT, "deploy"))}\nimages:\n  - name: ghcr.io/herald-push/herald\n    newName: registry.example.com/herald\n    newTag: 0.1.1\n`,
      );
      const objs = parseAllDocuments(execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" })).map((d) => d.toJS());
      expect(objs.find((o) => o.kind === "Namespace").metadata.name).toBe("push-system");
      for (const o of objs.filter((x) => x.metadata.namespace)) expect(o.metadata.namespace, key(o)).toBe("push-system");
      for (const b of objs.filter((o) => o.kind.endsWith("Binding"))) expect(b.subjects[0].namespace).toBe("push-system");
      expect(objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0].image).toBe("registry.example.com/herald:0.1.1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with operator.watchNamespace bind the operator's ClusterRole in that namespace only", () => {
    const objs = renderObjects(withValues({ operator: { watchNamespace: "apps" } }));
    expect(objs.filter((o) => o.kind === "ClusterRoleBinding").map((o) => o.metadata.name)).toEqual(["herald-operator-crds"]);
    const rb = objs.find((o) => o.kind === "RoleBinding" && o.metadata.name === "herald-operator");
    expect(rb).toMatchObject({ metadata: { namespace: "apps" }, roleRef: { kind: "ClusterRole", name: "herald-operator" }, subjects: [{ kind: "ServiceAccount", name: "herald-operator", namespace: "herald-system" }] });
    const env = objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "HERALD_WATCH_NAMESPACE", value: "apps" });
  });

  it("name objects as Helm charts usually do (release name, chart name, overrides, 63 characters at most)", () => {
    const deployName = (values: any, release: string) => renderObjects(values, { Name: release, Namespace: "x" }).find((o) => o.kind === "Deployment").metadata.name;
    expect(deployName(defaults, "herald")).toBe("herald-operator");
    expect(deployName(defaults, "my-herald-prod")).toBe("my-herald-prod-operator");
    expect(deployName(defaults, "edge")).toBe("edge-herald-operator");
    expect(deployName(withValues({ nameOverride: "push" }), "edge")).toBe("edge-push-operator");
    expect(deployName(withValues({ fullnameOverride: "push" }), "edge")).toBe("push-operator");
    // Helm allows release names of up to 53 characters; Service names and label values stay within 63
    expect(deployName(defaults, "a".repeat(53))).toBe(`${"a".repeat(45)}-operator`);
    for (const o of renderObjects(withValues(parse(readFileSync(join(FIXTURES, "good-ha.yaml"), "utf8"))), { Name: "b".repeat(53), Namespace: "x" })) {
      expect(o.metadata.name.length, key(o)).toBeLessThanOrEqual(o.kind === "Service" ? 63 : 253);
      for (const v of Object.values(o.metadata.labels ?? {})) expect(String(v).length, key(o)).toBeLessThanOrEqual(63);
    }
  });

  it("with another release name and namespace name everything after the release, the Lease rule included", () => {
    const objs = renderObjects(defaults, { Name: "edge", Namespace: "push" });
    expect(objs.find((o) => o.kind === "Deployment").metadata).toMatchObject({ name: "edge-herald-operator", namespace: "push" });
    const role = objs.find((o) => o.kind === "Role");
    expect(role.rules[1].resourceNames).toEqual(["edge-herald-operator"]);
    const env = objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "HERALD_LEASE_NAME", value: "edge-herald-operator" });
    for (const b of objs.filter((o) => o.kind.endsWith("Binding"))) expect(b.subjects[0]).toEqual({ kind: "ServiceAccount", name: "edge-herald-operator", namespace: "push" });
  });

  it("with monitoring on: a ServiceMonitor, the PrometheusRule with monitoring/'s alerts, the dashboard ConfigMap", () => {
    const objs = renderObjects(withValues(parse(readFileSync(join(FIXTURES, "good-ha.yaml"), "utf8"))));
    const sm = objs.find((o) => o.kind === "ServiceMonitor");
    expect(sm.spec).toEqual({ selector: { matchLabels: { "app.kubernetes.io/name": "herald", "app.kubernetes.io/instance": "herald", "app.kubernetes.io/component": "operator" } }, endpoints: [{ port: "metrics", path: "/metrics", interval: "30s" }] });
    expect(sm.metadata.labels.release).toBe("kube-prometheus-stack");
    const pr = objs.find((o) => o.kind === "PrometheusRule");
    expect(pr.spec.groups).toEqual(parse(read("monitoring/prometheus-rules.yaml")).groups);
    expect(pr.spec.groups[0].rules[0].annotations.summary).toContain("{{ $labels.instance }}");
    const cm = objs.find((o) => o.kind === "ConfigMap");
    expect(cm.metadata).toMatchObject({ name: "herald-dashboard", namespace: "monitoring", labels: { grafana_dashboard: "1" } });
    expect(JSON.parse(cm.data["herald-dashboard.json"])).toEqual(JSON.parse(read("monitoring/grafana/herald-dashboard.json")));
    expect(objs.find((o) => o.kind === "Deployment").spec.replicas).toBe(2);
  });

  it("with pushCluster.enabled render a PushCluster the CRD's schema accepts, kept on uninstall", () => {
    const objs = renderObjects(withValues(parse(readFileSync(join(FIXTURES, "good-pushcluster.yaml"), "utf8"))));
    const pc = objs.find((o) => o.kind === "PushCluster");
    expect(pc.metadata).toMatchObject({ name: "push", namespace: "herald-system", annotations: { "helm.sh/resource-policy": "keep" } });
    expect(pc.spec).toMatchObject({ replicas: 3, redis: { urlSecretRef: { name: "herald-redis" } }, auth: { mode: "ticket", ticketSecretRef: { name: "herald-ticket" } } });
    const crdSchema = parse(read("crds/pushcluster.yaml")).spec.versions[0].schema.openAPIV3Schema;
    const check = new Ajv({ allErrors: true, strict: false }).compile(crdSchema);
    expect(check(pc), JSON.stringify(check.errors)).toBe(true);
    expect(renderObjects(defaults).some((o) => o.kind === "PushCluster")).toBe(false);
    // every good PushCluster example renders one the CRD accepts, without leftover nulls
    for (const f of readdirSync(FIXTURES).filter((x) => x.startsWith("good-pushcluster"))) {
      const one = renderObjects(withValues(parse(readFileSync(join(FIXTURES, f), "utf8")))).find((o) => o.kind === "PushCluster");
      expect(check(one), `${f}: ${JSON.stringify(check.errors)}`).toBe(true);
      expect(JSON.stringify(one), f).not.toContain("null");
    }
    // `--set pushCluster.enabled=true` alone: the Secrets named in docs/install.md
    const plain = renderObjects(withValues({ pushCluster: { enabled: true } })).find((o) => o.kind === "PushCluster");
    expect(plain.metadata.name).toBe("herald");
    expect(plain.spec).toEqual({ replicas: 2, redis: { urlSecretRef: { name: "herald-redis" } }, auth: { mode: "ticket", ticketSecretRef: { name: "herald-ticket" } }, publishKeysSecretRef: { name: "herald-publish" } });
  });

  it("NOTES.txt tells what to do next", () => {
    const notes = helm.render("NOTES.txt", helm.context(defaults));
    expect(notes).toContain("kubectl -n herald-system rollout status deployment/herald-operator");
    expect(notes).toContain("kind: PushCluster");
    expect(notes).toContain("Before `helm uninstall`, delete your PushClusters");
    const withPc = helm.render("NOTES.txt", helm.context(withValues(parse(readFileSync(join(FIXTURES, "good-pushcluster.yaml"), "utf8")))));
    expect(withPc).toContain("kubectl -n herald-system get pushcluster push -w");
    expect(withPc).toContain("the Redis URL (herald-redis)");
    expect(withPc).not.toMatch(/\{\{|<no value>/);
  });
});
