// Dispatches `herald <command>` to the component that implements it.
const commands: Record<string, () => Promise<unknown>> = {
  "push-node": () => import("./push-node/main.js"),
  operator: () => import("./operator/main.js"),
  cluster: () => import("./operator/local-cluster.js"),
  "sim": () => import("./simulator/main.js"),
};

const [command = "push-node"] = process.argv.slice(2);
const load = commands[command];
if (!load) {
  process.stderr.write(`herald: unknown command "${command}". Commands: ${Object.keys(commands).join(", ")}\n`);
  process.exit(2);
}
await load();
