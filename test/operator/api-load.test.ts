// Load on the API server, measured from the simulator's audit log: an idle PushCluster's reconciles read
// from the operator's cache (watches), so they send nothing; the Secrets the pods read are watched one by
// one, by name, never listed whole; the leader renews its Lease with one request per retry period.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOperator, startWorld, pushClusterYaml, type HeraldWorld, type OperatorProcess } from "../helpers/operator.js";
import { until } from "../helpers/ports.js";

let world: HeraldWorld;
let operator: OperatorProcess;
const USER = "load-operator";

const getJson = async (args: string[]) => JSON.parse(await world.kubectl([...args, "-o", "json"]));
const passes = async () => Number(/herald_operator_reconciles_total\{result="success"\} (\d+)/.exec(await (await fetch(operator.metricsUrl)).text())?.[1] ?? 0);
const settled = async () => {
  const pc = await getJson(["-n", "apps", "get", "pushcluster", "ld"]);
  return pc.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True" && pc.status.observedGeneration === pc.metadata.generation;
};

beforeAll(async () => {
  world = await startWorld();
  // its own user, so the audit log tells its requests from kubectl's and the pods'; a pass every 2 s
  operator = await startOperator(world.sim.writeKubeconfig({ user: USER, groups: ["system:masters"] }), { HERALD_RESYNC_SECONDS: "2" });
  await world.kubectl(["apply", "-f", "-"], pushClusterYaml("ld", world.redis.url).replace("replicas: 3", "replicas: 2"));
  await until(settled, "ld Ready", 90_000, 200);
}, 150_000);

afterAll(async () => {
  await operator?.stop();
  await world?.stop();
});

describe("API load of an idle PushCluster", () => {
  it("reconciles from the cache: ten passes send no request but the Lease's", async () => {
    const settle = await passes();
    await until(async () => (await passes()) >= settle + 3, "three passes after Ready", 30_000, 100);
    const from = world.sim.audit.entries.length;
    const t0 = Date.now();
    const start = await passes();
    await until(async () => (await passes()) >= start + 10, "ten more passes", 60_000, 100);
    const seconds = (Date.now() - t0) / 1000;
    const mine = world.sim.audit.entries.slice(from).filter((e) => e.user === USER);
    const other = mine.filter((e) => e.resource !== "leases").map((e) => `${e.verb} ${e.resource} ${e.name ?? ""} ${e.code}`);
    // before the cache: 13–14 reads per pass, 130 or more here
    expect(other.length, other.join("\n")).toBeLessThanOrEqual(2);
    // the leader renews with one PUT per retry period (2 s), without reading the Lease first
    const lease = mine.filter((e) => e.resource === "leases");
    expect(lease.every((e) => e.verb === "update")).toBe(true);
    expect(lease.length).toBeLessThanOrEqual(Math.ceil(seconds / 2) + 1);
  }, 90_000);

  it("reads the Secrets the pods use by name only, and a rotated one is seen from its watch", async () => {
    const secrets = world.sim.audit.find({ user: USER, resource: "secrets" });
    const reads = secrets.filter((e) => e.verb === "list" || e.verb === "watch" || e.verb === "get");
    expect(reads.length).toBeGreaterThan(0);
    for (const e of reads) expect(e.uri).toMatch(/[?&]fieldSelector=metadata\.name%3D(herald-ticket|herald-publish|ld-token|ld-token-previous)(&|$)/);
    const before = (await getJson(["-n", "apps", "get", "statefulset", "ld"])).spec.template.metadata.annotations["herald.dev/config-hash"];
    const from = world.sim.audit.entries.length;
    const rotated = await world.kubectl(["-n", "apps", "create", "secret", "generic", "herald-publish", "--from-literal=keys=rotated-key", "--dry-run=client", "-o", "yaml"]);
    await world.kubectl(["apply", "-f", "-"], rotated);
    await until(async () => (await getJson(["-n", "apps", "get", "statefulset", "ld"])).spec.template.metadata.annotations["herald.dev/config-hash"] !== before, "a new config hash on the template", 20_000, 200);
    // no GET of the Secret: the change came from the by-name watch
    expect(world.sim.audit.entries.slice(from).filter((e) => e.user === USER && e.resource === "secrets" && e.verb !== "watch")).toEqual([]);
  }, 60_000);
});
