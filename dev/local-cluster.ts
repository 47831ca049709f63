// `npm run cluster` (node dist/dev/cli.js cluster): a working multi-node Herald on one machine. Starts a redis-server
// (unless REDIS_URL is set), the Kubernetes API simulator, `herald operator`, applies the CRD and
// docs/examples/pushcluster.yaml, waits until it is Ready, and prints how to log in and publish.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { KubeConfig } from "@kubernetes/client-node";
import { SignJWT } from "jose";
import { parseAllDocuments } from "yaml";
import { startSimulator } from "./simulator/index.js";
import { KubeRest, apiPath } from "../common/kube/client.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const children: ChildProcess[] = [];
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 90_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};
const say = (line = "") => process.stdout.write(line + "\n");

let redisUrl = process.env.REDIS_URL;
let redisDir: string | null = null;
if (!redisUrl) {
  const port = await freePort();
  const dir = (redisDir = mkdtempSync(join(tmpdir(), "herald-redis-")));
  children.push(spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"], { stdio: "ignore" }));
  redisUrl = `redis://127.0.0.1:${port}`;
  say(`started redis-server on ${redisUrl} (appendfsync always)`);
}

const sim = await startSimulator();
const kc = new KubeConfig();
kc.loadFromFile(sim.kubeconfigPath);
const rest = new KubeRest(kc);
const post = (path: string, body: unknown) => rest.request("POST", path, { body });

for (const doc of parseAllDocuments(readFileSync(join(root, "crds/pushcluster.yaml"), "utf8"))) await post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", doc.toJSON());
await until("the PushCluster resource", async () => !!(await rest.get("/apis/herald.dev/v1alpha1")));
const ticketSecret = randomBytes(24).toString("base64url");
const publishKey = `pk-${randomBytes(12).toString("hex")}`;
for (const ns of ["apps", "herald-system"]) await post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
await post(apiPath("v1", "secrets", "apps"), { apiVersion: "v1", kind: "Secret", metadata: { name: "herald-ticket" }, stringData: { secret: ticketSecret } });
await post(apiPath("v1", "secrets", "apps"), { apiVersion: "v1", kind: "Secret", metadata: { name: "herald-publish" }, stringData: { keys: publishKey } });

const operatorPort = await freePort();
const operator = spawn(process.execPath, [join(root, "bin/herald.js"), "operator"], {
  env: { ...process.env, KUBECONFIG: sim.kubeconfigPath, POD_NAMESPACE: "herald-system", METRICS_PORT: String(operatorPort), METRICS_HOST: "127.0.0.1", LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
  stdio: "inherit",
});
children.push(operator);

const example = parseAllDocuments(readFileSync(join(root, "docs/examples/pushcluster.yaml"), "utf8"))[0]!.toJSON();
example.spec.redis = { url: redisUrl };
await post(apiPath("herald.dev/v1alpha1", "pushclusters", "apps"), example);
say("applied docs/examples/pushcluster.yaml; waiting for the push nodes...");
const pcPath = apiPath("herald.dev/v1alpha1", "pushclusters", "apps", "herald");
await until("the PushCluster to be Ready", async () => (await rest.get(pcPath)).status?.conditions?.some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True"));

const svc = async (name: string) => (await rest.get(apiPath("v1", "services", "apps", name))).spec.clusterIP as string;
const login = `http://${await svc("herald")}`;
const internal = `http://${await svc("herald-internal")}:8080`;
// Tickets live at most HERALD_TICKET_MAX_LIFETIME_SECONDS (5 minutes by default): this one fits, and
// the message says how to mint another.
const ticket = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setIssuedAt().setExpirationTime("5m").sign(new TextEncoder().encode(ticketSecret));
const mint = `node --input-type=module -e "import {SignJWT} from 'jose'; console.log(await new SignJWT({}).setProtectedHeader({alg:'HS256'}).setSubject('alice').setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode('${ticketSecret}')))"`;
say(`
Herald is running: 3 push nodes managed by the operator (metrics on http://127.0.0.1:${operatorPort}/metrics).

  export KUBECONFIG=${sim.kubeconfigPath}
  kubectl -n apps get pushclusters,pods,services
  kubectl -n apps scale pushcluster herald --replicas=5

Log in as alice (a ticket your backend would sign with the herald-ticket secret):
  curl -s ${login}/v1/login -H 'content-type: application/json' -d '{"ticket":"${ticket}"}'
That ticket is valid for 5 minutes (tickets must carry exp; HERALD_TICKET_MAX_LIFETIME_SECONDS); mint
another from this directory with:
  ${mint}

Connect a Socket.IO client to the node.url and node.path it returns, with auth {token}; then publish:
  curl -s ${internal}/v1/publish -H 'authorization: Bearer ${publishKey}' -H 'content-type: application/json' \\
       -d '{"to":["alice"],"data":{"hello":"from the cluster"}}'

Ctrl-C stops everything.`);

let stopping = false;
/** Stops everything whatever the children did: an operator that already died, or one that will not stop, never holds Ctrl-C up. */
async function stop(): Promise<void> {
  if (stopping) return process.exit(130); // a second Ctrl-C: leave now
  stopping = true;
  if (operator.exitCode === null && operator.signalCode === null) {
    await new Promise<void>((r) => {
      const force = setTimeout(() => (operator.kill("SIGKILL"), r()), 15_000); // it releases its Lease on SIGTERM; do not wait for ever
      operator.once("exit", () => (clearTimeout(force), r()));
      operator.kill("SIGTERM");
    });
  }
  await Promise.race([sim.stop(), new Promise((r) => setTimeout(r, 15_000))]);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  if (redisDir) rmSync(redisDir, { recursive: true, force: true });
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
