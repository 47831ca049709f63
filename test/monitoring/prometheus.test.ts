// Prometheus for real: Debian's prometheus scrapes two running push nodes and `herald operator`, loads
// monitoring/prometheus-rules.yaml, and is queried over its HTTP API while Herald carries traffic:
// metrics arrive with their labels, every dashboard panel query returns data, every alert expression
// evaluates (and the series under it exist), `promtool check metrics` passes on each /metrics output.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { clusterEnv, startNode, ROOT, PUBLISH_KEY, TICKET_SECRET, type NodeProcess } from "../helpers/push-node.js";
import { kubectlOk, startOperator, type OperatorProcess } from "../helpers/operator.js";
import { connect, login, loginTicket, publish, ticketFor, type TestClient } from "../helpers/client.js";
import { freePort, until } from "../helpers/ports.js";
import { run } from "./run.js";

const USERS = ["user-ann", "user-ben", "user-cid", "user-dee", "user-eve", "user-fay"];
let redis: RedisServer;
let sim: Simulator;
let nodes: NodeProcess[] = [];
let operator: OperatorProcess;
let prom: ChildProcess;
let promExited: Promise<void>;
let promUrl: string;
let dir: string;
let traffic: NodeJS.Timeout | undefined;
const clients: TestClient[] = [];

async function query(expr: string): Promise<{ status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } }> {
  const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  return (await res.json()) as any;
}
const results = async (expr: string) => {
  const r = await query(expr);
  if (r.status !== "success") throw new Error(`${expr}: ${r.error}`);
  return r.data!.result;
};

beforeAll(async () => {
  redis = await startRedis();
  for (const id of ["push-a", "push-b"]) nodes.push(await startNode(clusterEnv(redis.url, { HERALD_NODE_ID: id })));

  // The operator, reconciling one PushCluster on a simulator without a kubelet (no pods are needed to
  // exercise its reconciles, its Lease and its metrics).
  sim = await startSimulator({ kubelet: false });
  const k = (args: string[], stdin?: string) => kubectlOk(sim.kubeconfigPath, args, stdin);
  await k(["apply", "-f", join(ROOT, "crds/pushcluster.yaml")]);
  await k(["create", "namespace", "herald-system"]);
  await k(["create", "namespace", "apps"]);
  await k(["-n", "apps", "create", "secret", "generic", "herald-ticket", `--from-literal=secret=${TICKET_SECRET}`]);
  await k(["-n", "apps", "create", "secret", "generic", "herald-publish", `--from-literal=keys=${PUBLISH_KEY}`]);
  operator = await startOperator(sim.kubeconfigPath);
  await k(["apply", "-f", "-"], `apiVersion: herald.dev/v1alpha1
kind: PushCluster
metadata: {name: mon, namespace: apps}
spec:
  replicas: 1
  redis: {url: "${redis.url}"}
  auth: {mode: ticket, ticketSecretRef: {name: herald-ticket}}
  publishKeysSecretRef: {name: herald-publish}
`);

  dir = mkdtempSync(join(tmpdir(), "herald-prometheus-"));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: [join(ROOT, "monitoring/prometheus-rules.yaml")],
    scrape_configs: [
      { job_name: "herald-push", static_configs: [{ targets: nodes.map((n) => `127.0.0.1:${n.port}`) }] },
      { job_name: "herald-operator", static_configs: [{ targets: [new URL(operator.metricsUrl).host] }] },
    ],
  };
  writeFileSync(join(dir, "prometheus.yml"), JSON.stringify(config));
  prom = spawn("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { stdio: ["ignore", "ignore", "pipe"] });
  let promLog = "";
  prom.stderr!.on("data", (d) => (promLog += d));
  promExited = new Promise((r) => prom.once("exit", () => r()));
  await until(async () => {
    if (prom.exitCode !== null) throw new Error(`prometheus exited: ${promLog}`);
    return (await fetch(`${promUrl}/-/ready`)).ok;
  }, "prometheus ready", 30_000, 100);

  // Traffic: users on both nodes, live messages all the time, a replay, refused logins and publishes,
  // a refused handshake.
  const loginUrl = nodes[0]!.url;
  for (const u of USERS) clients.push(await connect(await loginTicket(loginUrl, u)));
  expect(new Set(clients.map((c) => (c.socket.io as any).uri)).size).toBe(2);
  const offline = "user-offline";
  expect((await publish(nodes[1]!.url, { to: [offline], data: "waiting in the inbox" })).status).toBe(202);
  const late = await connect(await loginTicket(loginUrl, offline), { deviceId: "phone-1" });
  clients.push(late);
  expect((await late.waitFor(1))[0].data).toBe("waiting in the inbox");
  expect((await login(loginUrl, { ticket: await ticketFor("intruder", "a-wrong-secret-0123456789abcdef0123456789") }).catch((e) => e)).message).toMatch(/401/);
  expect((await publish(nodes[1]!.url, { to: [], data: 1 })).status).toBe(400);
  await expect(connect({ token: "not-a-token", expiresAt: "", userId: "x", node: { id: "push-a", url: nodes[0]!.url, path: "/socket.io" } })).rejects.toThrow();
  let n = 0;
  const tick = async () => {
    await publish(nodes[n++ % 2]!.url, { to: USERS, data: { n } }).catch(() => {});
  };
  traffic = setInterval(() => void tick(), 100);
  await until(async () => clients.slice(0, USERS.length).every((c) => c.messages.length >= 5), "live deliveries to every user", 20_000, 50);
  // Prometheus has scraped the traffic from both nodes and the operator's reconciles.
  await until(async () => (await results('sum by (instance) (rate(herald_messages_delivered_total{mode="live"}[10s])) > 0')).length === 2, "live deliveries scraped from both nodes", 30_000, 200);
  await until(async () => (await results('herald_operator_reconciles_total{result="success"} > 0')).length === 1, "operator reconciles scraped", 30_000, 200);
  // rate() over the dashboard's 10 s window needs several scrapes of every target
  await until(async () => (await results('count_over_time(up{job="herald-operator"}[10s]) >= 3')).length === 1 && (await results('count_over_time(up{job="herald-push"}[10s]) >= 3')).length === 2, "three scrapes of every target within 10 s", 30_000, 200);
}, 120_000);

afterAll(async () => {
  if (traffic) clearInterval(traffic);
  for (const c of clients) c.close();
  if (prom && prom.exitCode === null) {
    prom.kill("SIGTERM");
    await promExited;
  }
  await operator?.stop();
  for (const node of nodes) await node.stop();
  await sim?.stop();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("Prometheus scraping Herald", () => {
  it("receives the push nodes' and the operator's metrics with their labels", async () => {
    const up = await results("up");
    expect(up.map((r) => `${r.metric.job} ${r.value[1]}`).sort()).toEqual(["herald-operator 1", "herald-push 1", "herald-push 1"]);
    const delivered = await results("herald_messages_delivered_total");
    expect(new Set(delivered.map((r) => r.metric.mode))).toEqual(new Set(["live", "replay"]));
    for (const r of delivered) expect(r.metric).toMatchObject({ job: "herald-push", instance: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect((await results("herald_logins_total")).map((r) => r.metric.result)).toEqual(expect.arrayContaining(["ok", "refused"]));
    expect((await results("herald_publish_rejected_total")).map((r) => r.metric.code)).toContain("INVALID_MESSAGE");
    expect((await results('herald_handshakes_total{result!="ok"}')).length).toBeGreaterThan(0);
    expect(Number((await results("sum(herald_connected_users)"))[0]!.value[1])).toBe(USERS.length + 1);
    expect(Number((await results("count(herald_delivery_latency_seconds_bucket)"))[0]!.value[1])).toBe(2 * 15);
    const op = await results('herald_operator_reconciles_total{result="success"}');
    expect(op[0]!.metric).toMatchObject({ job: "herald-operator" });
    expect((await results("herald_operator_leader"))[0]!.value[1]).toBe("1");
    expect((await results("herald_operator_pushclusters"))[0]!.value[1]).toBe("1");
  });

  it("keeps cardinality low: no user id in any label, only the expected label names", async () => {
    const res = await fetch(`${promUrl}/api/v1/series?${new URLSearchParams({ "match[]": '{__name__=~"herald_.+"}' })}`);
    const series = ((await res.json()) as { data: Array<Record<string, string>> }).data;
    expect(series.length).toBeGreaterThan(50);
    const names = new Set(series.flatMap((s) => Object.keys(s)));
    // prom-client's default metrics add version labels (nodejs_version_info) and heap spaces / GC kinds;
    // the operator labels its per-PushCluster gauges with the PushCluster (as many series as PushClusters);
    // herald_limit_refusals_total names the protective limit (a fixed set, docs/security.md).
    const allowed = new Set(["__name__", "job", "instance", "result", "code", "mode", "reason", "le", "version", "major", "minor", "patch", "space", "kind", "type", "pushcluster_namespace", "pushcluster", "limit"]);
    expect([...names].filter((l) => !allowed.has(l))).toEqual([]);
    const values = series.flatMap((s) => Object.values(s));
    for (const u of [...USERS, "user-offline", "intruder"]) expect(values.filter((v) => v.includes(u))).toEqual([]);
    for (const s of series) expect(s.__name__).toMatch(/^herald_[a-z0-9_]+$/);
  });

  it("promtool check metrics passes on each /metrics output", async () => {
    for (const url of [...nodes.map((n) => `${n.url}/metrics`), operator.metricsUrl]) {
      const text = await (await fetch(url)).text();
      const r = await run("promtool", ["check", "metrics"], text);
      expect(r.stdout + r.stderr, url).toBe("");
      expect(r.code, url).toBe(0);
    }
  });

  it("every dashboard panel query returns data", async () => {
    const dash = JSON.parse(readFileSync(join(ROOT, "monitoring/grafana/herald-dashboard.json"), "utf8"));
    const panels = dash.panels.filter((p: any) => p.type !== "row");
    expect(panels.length).toBeGreaterThanOrEqual(15);
    const empty: string[] = [];
    let count = 0;
    for (const p of panels)
      for (const t of p.targets) {
        // Grafana's variables as Grafana would fill them: every job, a rate window over several scrapes.
        const expr = t.expr.replaceAll("$__rate_interval", "10s").replaceAll("$job", ".+");
        expect(expr, p.title).not.toMatch(/\$/);
        const r = await results(expr);
        count++;
        if (r.length === 0 || r.some((x) => x.value[1] === "NaN")) empty.push(`${p.title}: ${expr} → ${JSON.stringify(r.map((x) => x.value[1]))}`);
      }
    expect(empty).toEqual([]);
    expect(count).toBeGreaterThanOrEqual(20);
    // the per-node panels show both nodes
    expect((await results('sum by (instance) (herald_connected_sockets{job=~".+"})')).length).toBe(2);
  });

  it("every alert expression evaluates, the series under it exist, and Prometheus evaluates the loaded rules without error", async () => {
    const groups = parse(readFileSync(join(ROOT, "monitoring/prometheus-rules.yaml"), "utf8")).groups as Array<{ rules: Array<{ alert: string; expr: string }> }>;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const rule of rules) {
      const r = await query(rule.expr);
      expect(r.status, `${rule.alert}: ${r.error}`).toBe("success");
      // All is well here, so the alerts' conditions are empty; the data they test is not.
      expect((r.data?.result ?? []).map((x) => x.metric), rule.alert).toEqual([]);
      for (const metric of new Set(rule.expr.match(/\b(?:herald_[a-z_]+|up)\b/g) ?? [])) expect((await results(`count(${metric})`)).length, `${rule.alert}: ${metric}`).toBe(1);
    }
    await until(async () => {
      const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as any;
      const loaded = body.data.groups.flatMap((g: any) => g.rules);
      return loaded.length === rules.length && loaded.every((x: any) => x.lastEvaluation && !x.lastEvaluation.startsWith("0001"));
    }, "every rule evaluated once", 15_000, 200);
    const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as any;
    const loaded = body.data.groups.flatMap((g: any) => g.rules);
    expect(loaded.map((x: any) => `${x.name} ${x.health} ${x.lastError ?? ""}`.trim()).sort()).toEqual(rules.map((x) => `${x.alert} ok`).sort());
    expect(loaded.filter((x: any) => x.state !== "inactive").map((x: any) => x.name)).toEqual([]);
  });
});
