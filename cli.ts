// Dispatches `herald <command>` to the component that implements it. Development tools (the local
// cluster and the Kubernetes API simulator) live in dev/ with their own entry point: npm run cluster / sim.
const commands: Record<string, () => Promise<unknown>> = {
  "push-node": () => import("./push-node/main.js"),
  operator: () => import("./operator/main.js"),
};

const [command = "push-node"] = process.argv.slice(2);
const load = commands[command];
if (!load) {
  const dev = command === "cluster" || command === "sim" ? ` ("${command}" is a development command: npm run ${command})` : "";
  process.stderr.write(`herald: unknown command "${command}"${dev}. Commands: ${Object.keys(commands).join(", ")}\n`);
  process.exit(2);
}
await load();
