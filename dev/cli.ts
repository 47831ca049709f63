// Development tools, kept out of the product and the image: `npm run cluster` and `npm run sim`
// (both run `node dist/dev/cli.js <command>`). Nothing outside dev/ and test/ imports this folder.
const commands: Record<string, { about: string; load: () => Promise<unknown> }> = {
  cluster: {
    about: "a whole Herald on one machine: redis-server, the Kubernetes API simulator, the operator and three push nodes",
    load: () => import("./local-cluster.js"),
  },
  sim: {
    about: "the Kubernetes API simulator alone (options: --rbac, --verbose); prints a kubeconfig for kubectl",
    load: () => import("./simulator/main.js"),
  },
};

const help = () =>
  [
    "Usage: node dist/dev/cli.js <command>   (or: npm run cluster, npm run sim)",
    "",
    "Development commands (not part of the herald executable or its image):",
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(8)} ${c.about}`),
    "",
  ].join("\n");

const [command, ...rest] = process.argv.slice(2);
if (command === undefined || command === "--help" || command === "-h" || command === "help") {
  process.stdout.write(help());
  process.exit(command === undefined ? 2 : 0);
}
const chosen = commands[command];
if (!chosen) {
  process.stderr.write(`herald dev: unknown command "${command}"\n\n${help()}`);
  process.exit(2);
}
if (rest.includes("--help") || rest.includes("-h")) {
  process.stdout.write(`${command}: ${chosen.about}\n`);
  process.exit(0);
}
await chosen.load();
