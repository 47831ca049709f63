// The alert rules and the dashboard as files: promtool checks and unit-tests the rules; every alert has
// a test where it fires and one where it stays quiet, and breaking an alert makes its test fail; the
// copies (PrometheusRule, Grafana ConfigMap, the chart's files) are what monitoring/sync.mjs makes.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { ROOT } from "../helpers/push-node.js";
import { run } from "./run.js";

const RULES = join(ROOT, "monitoring/prometheus-rules.yaml");
const TESTS = join(ROOT, "monitoring/tests/rules.test.yaml");
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");
const rules = parse(read("monitoring/prometheus-rules.yaml")) as { groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }> }> };
const alerts = rules.groups.flatMap((g) => g.rules);
const scratch = mkdtempSync(join(tmpdir(), "herald-rules-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("alert rules", () => {
  it("pass promtool check rules", async () => {
    const r = await run("promtool", ["check", "rules", RULES]);
    expect(r.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(r.code).toBe(0);
  });

  it("pass their promtool unit tests", async () => {
    const r = await run("promtool", ["test", "rules", TESTS]);
    expect(r.stdout + r.stderr).toContain("SUCCESS");
    expect(r.code).toBe(0);
  });

  it("each alert is tested firing and quiet, and carries severity, summary, description and a runbook link", () => {
    const tests = parse(read("monitoring/tests/rules.test.yaml")).tests as Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    const cases = tests.flatMap((t) => t.alert_rule_test);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${a.alert} fires somewhere`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${a.alert} is quiet somewhere`).toBe(true);
      expect(["critical", "warning"]).toContain(a.labels.severity);
      expect(Object.keys(a.annotations).sort()).toEqual(["description", "runbook_url", "summary"]);
      expect(a.annotations.runbook_url).toBe(`https://github.com/herald-push/herald/blob/main/docs/install.md#${a.alert.toLowerCase()}`);
      expect(a.for, a.alert).toMatch(/^\d+m$/);
    }
    // the runbook anchors exist in docs/install.md
    const doc = read("docs/install.md");
    for (const a of alerts) expect(doc, a.alert).toMatch(new RegExp(`^#+ ${a.alert}$`, "m"));
  });

  it("the unit tests notice when an alert is broken", async () => {
    for (const a of alerts) {
      const dir = join(scratch, a.alert);
      mkdirSync(join(dir, "tests"), { recursive: true });
      const broken = structuredClone(rules);
      for (const g of broken.groups) for (const r of g.rules) if (r.alert === a.alert) r.expr = `(${r.expr}) and on() vector(0) > 1`;
      writeFileSync(join(dir, "prometheus-rules.yaml"), stringify(broken));
      copyFileSync(TESTS, join(dir, "tests/rules.test.yaml"));
      const r = await run("promtool", ["test", "rules", join(dir, "tests/rules.test.yaml")]);
      expect(r.code, `${a.alert} never firing went unnoticed`).not.toBe(0);
      expect(r.stdout + r.stderr).toContain(`alertname: ${a.alert}`);
    }
  });

  it("use metric names Herald exports, with no user-identifying labels", () => {
    const metrics = new Set(read("push-node/metrics.ts").match(/herald_[a-z_]+/g)!.concat(read("operator/metrics.ts").match(/herald_operator_[a-z_]+/g)!));
    for (const a of alerts)
      for (const m of a.expr.match(/herald_[a-z_]+/g) ?? []) expect(metrics.has(m.replace(/_bucket$/, "")), `${a.alert}: ${m}`).toBe(true);
    for (const a of alerts) expect(a.expr).not.toMatch(/user/i);
  });
});

describe("the copies", () => {
  it("are what monitoring/sync.mjs writes (run it after editing a source)", async () => {
    const { outputs } = (await import(join(ROOT, "monitoring/sync.mjs"))) as { outputs: Record<string, string> };
    expect(Object.keys(outputs).sort()).toEqual(["charts/herald/files/herald-dashboard.json", "charts/herald/files/prometheus-rules.yaml", "monitoring/grafana/dashboard-configmap.yaml", "monitoring/prometheusrule.yaml"]);
    for (const [path, text] of Object.entries(outputs)) expect(read(path), path).toBe(text);
  });

  it("the PrometheusRule has the rule file's groups, the ConfigMap the dashboard with the sidecar label", () => {
    const pr = parseAllDocuments(read("monitoring/prometheusrule.yaml")).map((d) => d.toJS());
    expect(pr).toHaveLength(1);
    expect(pr[0]).toMatchObject({ apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule" });
    expect(pr[0].spec.groups).toEqual(rules.groups);
    const cm = parse(read("monitoring/grafana/dashboard-configmap.yaml"));
    expect(cm.metadata.labels.grafana_dashboard).toBe("1");
    expect(JSON.parse(cm.data["herald-dashboard.json"])).toEqual(JSON.parse(read("monitoring/grafana/herald-dashboard.json")));
    expect(read("charts/herald/files/prometheus-rules.yaml")).toBe(read("monitoring/prometheus-rules.yaml"));
    expect(read("charts/herald/files/herald-dashboard.json")).toBe(read("monitoring/grafana/herald-dashboard.json"));
  });

  it("the dashboard is well formed: unique panel ids, a Prometheus datasource variable on every query", () => {
    const dash = JSON.parse(read("monitoring/grafana/herald-dashboard.json"));
    const ids = dash.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dash.templating.list.map((v: any) => v.name)).toEqual(["datasource", "job"]);
    for (const p of dash.panels.filter((x: any) => x.type !== "row")) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
    }
    const titles = dash.panels.map((p: any) => p.title).join("\n");
    for (const want of ["Connections", "Connected users", "Messages per second", "Delivery latency", "Connections per node"]) expect(titles).toContain(want);
  });
});
