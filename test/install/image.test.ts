// The container image without a Docker engine: the Dockerfile's stages are read and their steps run in
// a temporary folder — the build stage's COPYs and `npm run build` (with the repository's
// node_modules standing in for its `npm ci`), the deps stage's `npm ci --omit=dev` with the lockfile,
// the runtime stage's COPYs and its `herald` link — then `herald push-node` and `herald operator` are
// started from the result, as the entrypoint would start them.
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { ROOT } from "../helpers/push-node.js";
import { freePort, until } from "../helpers/ports.js";
import { kubectlOk } from "../helpers/operator.js";
import { run } from "../monitoring/run.js";

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string;
  steps: Instruction[];
}

/** The Dockerfile as stages of instructions (continuation lines joined, comments dropped). */
function readDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n\s*/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === "FROM") {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!)!;
      stages.push({ from: from!, name: name ?? `stage-${stages.length}`, steps: [] });
    } else stages.at(-1)!.steps.push({ op: op!.toUpperCase(), args: args! });
  }
  return stages;
}

const dockerfile = readDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
const stage = (name: string) => dockerfile.find((s) => s.name === name)!;
const runtime = dockerfile.at(-1)!;
const work = mkdtempSync(join(tmpdir(), "herald-image-"));
/** Where each stage's file system root is, in the temporary folder. */
const rootOf = (s: Stage) => join(work, s.name);
const children: ChildProcess[] = [];
let sim: Simulator | undefined;

/** Runs one stage's steps: WORKDIR, COPY (from the context or an earlier stage), ENV, and the RUN lines `handle` maps. */
async function runStage(s: Stage, handle: (cmd: string, cwd: string) => Promise<void>): Promise<{ workdir: string; env: Record<string, string> }> {
  const root = rootOf(s);
  let workdir = "/";
  const env: Record<string, string> = {};
  for (const step of s.steps) {
    if (step.op === "WORKDIR") {
      workdir = step.args;
      mkdirSync(join(root, workdir), { recursive: true });
    } else if (step.op === "ENV") {
      const [, k, v] = /^(\w+)=(.*)$/.exec(step.args)!;
      env[k!] = v!;
    } else if (step.op === "COPY") {
      const parts = step.args.split(/\s+/);
      const from = parts[0]!.startsWith("--from=") ? parts.shift()!.slice(7) : null;
      const dest = parts.pop()!;
      const destAbs = join(root, dest.startsWith("/") ? dest : join(workdir, dest));
      for (const src of parts) {
        const srcAbs = from ? join(rootOf(stage(from)), src) : join(ROOT, src);
        expect(existsSync(srcAbs), `COPY ${from ? `--from=${from} ` : ""}${src}`).toBe(true);
        const target = dest.endsWith("/") && !statSync(srcAbs).isDirectory() ? join(destAbs, src.split("/").pop()!) : destAbs;
        mkdirSync(dirname(target), { recursive: true });
        cpSync(srcAbs, target, { recursive: true, verbatimSymlinks: true });
      }
    } else if (step.op === "RUN") await handle(step.args, join(root, workdir));
  }
  return { workdir, env };
}

let app: { workdir: string; env: Record<string, string> };

beforeAll(async () => {
  // build: its `npm ci` is the repository's own node_modules (installed from the same lockfile)
  await runStage(stage("build"), async (cmd, cwd) => {
    if (cmd === "npm ci --no-audit --no-fund") return void symlinkSync(join(ROOT, "node_modules"), join(cwd, "node_modules"));
    expect(cmd).toBe("npm run build");
    const r = await run("npm", ["run", "build"], undefined, { cwd });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
  // deps: the real `npm ci --omit=dev` with the lockfile (from npm's cache when it has the packages)
  await runStage(stage("deps"), async (cmd, cwd) => {
    const args = cmd.split(/\s+/);
    expect(args.slice(0, 3)).toEqual(["npm", "ci", "--omit=dev"]);
    const r = await run("npm", [...args.slice(1), "--prefer-offline"], undefined, { cwd });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
  // runtime: the user/npm clean-up line is the base image's business; the link is `herald` on PATH
  app = await runStage(runtime, async (cmd) => {
    if (cmd.startsWith("addgroup")) return;
    const link = /^ln -s (\S+) (\S+)$/.exec(cmd);
    expect(link, cmd).not.toBeNull();
    mkdirSync(join(rootOf(runtime), dirname(link![2]!)), { recursive: true });
    symlinkSync(join(rootOf(runtime), link![1]!), join(rootOf(runtime), link![2]!));
  });
}, 180_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) {
    c.kill("SIGTERM");
    await new Promise((r) => c.once("exit", r));
  }
  await sim?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Starts `<entrypoint> <args>` as the image would: the runtime's WORKDIR, ENV, and /usr/local/bin on PATH. */
function startFromImage(args: string[], env: Record<string, string>): { proc: ChildProcess; logs: () => string } {
  const entrypoint = JSON.parse(runtime.steps.find((s) => s.op === "ENTRYPOINT")!.args) as string[];
  const root = rootOf(runtime);
  const proc = spawn(entrypoint[0]!, [...entrypoint.slice(1), ...args], {
    cwd: join(root, app.workdir),
    env: { PATH: `${join(root, "usr/local/bin")}:${dirname(process.execPath)}:/usr/bin:/bin`, ...app.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  children.push(proc);
  return { proc, logs: () => out };
}

describe("the Dockerfile", () => {
  it("is multi-stage: dev dependencies and sources stay in the build stage; the runtime is small and runs as a non-root user", () => {
    expect(dockerfile.map((s) => s.name)).toEqual(["build", "deps", "stage-2"]);
    expect(runtime.from).toMatch(/^node:20-alpine$/);
    expect(stage("deps").from).toBe(runtime.from); // node_modules made where they run
    const user = runtime.steps.filter((s) => s.op === "USER").at(-1)!.args;
    expect(user).toBe("10001:10001");
    expect(runtime.steps.find((s) => s.op === "ENTRYPOINT")!.args).toBe('["herald"]');
    expect(runtime.steps.find((s) => s.op === "CMD")!.args).toBe('["push-node"]');
    const copies = runtime.steps.filter((s) => s.op === "COPY").map((s) => s.args);
    expect(copies).toEqual(["--from=deps /app/node_modules ./node_modules", "--from=build /src/dist ./dist", "package.json ./", "bin/ ./bin/", "demo/ ./demo/"]); // demo/: the page HERALD_DEMO_PAGE serves
    expect(runtime.steps.some((s) => s.op === "RUN" && /rm -rf .*\/npm /.test(s.args))).toBe(true);
  });

  it(".dockerignore keeps out what the image does not need, and nothing the Dockerfile copies", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    for (const x of ["node_modules", "dist", ".git", "test"]) expect(ignored).toContain(x);
    const sources = dockerfile.flatMap((s) => s.steps.filter((x) => x.op === "COPY" && !x.args.startsWith("--from")).flatMap((x) => x.args.split(/\s+/).slice(0, -1)));
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) {
      const name = src.replace(/\/$/, "");
      expect(ignored.some((p) => p === name || (p.startsWith("*") && name.endsWith(p.slice(1)))), src).toBe(false);
    }
  });

  it("gives the runtime exactly the production dependencies, none with native code", () => {
    const modules = join(rootOf(runtime), app.workdir, "node_modules");
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(modules, dep, "package.json")), dep).toBe(true);
    for (const dev of ["typescript", "vitest", "ajv", "selfsigned"]) expect(existsSync(join(modules, dev)), dev).toBe(false);
    // exactly the lockfile's non-dev packages (@types/node, say, is there because client-node needs it)
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")).packages as Record<string, { dev?: boolean; optional?: boolean }>;
    const entries = Object.entries(lock).filter(([path]) => path.startsWith("node_modules/"));
    const wrong = entries.filter(([path, e]) => existsSync(join(rootOf(runtime), app.workdir, path)) !== !e.dev && !e.optional).map(([path, e]) => `${path} dev=${!!e.dev}`);
    expect(wrong).toEqual([]);
    expect(entries.filter(([, e]) => !e.dev).length).toBeGreaterThan(100);
    expect(existsSync(join(modules, ".bin", "tsc"))).toBe(false);
    const native: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith(".node")) native.push(join(d, e.name));
      }
    };
    walk(modules);
    expect(native).toEqual([]);
    expect(existsSync(join(rootOf(runtime), app.workdir, "dist/cli.js"))).toBe(true);
    expect(existsSync(join(rootOf(runtime), app.workdir, "push-node"))).toBe(false); // no sources
  });

  it("starts `herald push-node` (the default command) and answers /readyz", async () => {
    const port = await freePort();
    const cmd = JSON.parse(runtime.steps.find((s) => s.op === "CMD")!.args) as string[];
    const node = startFromImage(cmd, { PORT: String(port), HOST: "127.0.0.1", HERALD_NODE_ID: "from-image" });
    const res = await until(async () => {
      if (node.proc.exitCode !== null) throw new Error(`exited: ${node.logs()}`);
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      return r.status === 200 ? r : null;
    }, "the push node from the image to be ready", 20_000, 50);
    expect(res!.status).toBe(200);
    expect(node.logs()).toContain('"node":"from-image"');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^herald_node_ready 1$/m);
  });

  it("starts `herald operator`, which takes its Lease", async () => {
    sim = await startSimulator({ kubelet: false });
    await kubectlOk(sim.kubeconfigPath, ["create", "namespace", "herald-system"]);
    const port = await freePort();
    const op = startFromImage(["operator"], { KUBECONFIG: sim.kubeconfigPath, POD_NAMESPACE: "herald-system", METRICS_HOST: "127.0.0.1", METRICS_PORT: String(port) });
    const ready = await until(async () => {
      if (op.proc.exitCode !== null) throw new Error(`exited: ${op.logs()}`);
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      const body = (await r.json()) as { leader: boolean; started: boolean };
      return body.leader && body.started ? body : null;
    }, "the operator from the image to lead", 20_000, 50);
    expect(ready).toEqual({ leader: true, started: true });
    const holder = await kubectlOk(sim.kubeconfigPath, ["-n", "herald-system", "get", "lease", "herald-operator", "-o", "jsonpath={.spec.holderIdentity}"]);
    expect(holder).toMatch(/-\d+$/); // <hostname>-<pid>, the default HERALD_OPERATOR_ID
  });
});
