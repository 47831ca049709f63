// `npm run sim` (node dist/dev/cli.js sim): starts the simulator and prints how to use it; runs until interrupted.
import { startSimulator } from "./simulator.js";

const verbose = process.argv.includes("--verbose") || process.argv.includes("-v");
const sim = await startSimulator({
  rbac: process.argv.includes("--rbac"),
  log: verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
});

process.stdout.write(
  [
    `Kubernetes API simulator listening on ${sim.url}`,
    `kubeconfig: ${sim.kubeconfigPath}`,
    `admin endpoint: ${sim.adminUrl} (GET /audit, POST /faults, POST /watches/cut, POST /compact, POST /rbac, GET|POST /images)`,
    `pod network ${sim.network.podPrefix}.0/24, service network ${sim.network.servicePrefix}.0/24, Ingress controller ${sim.ingress.address.ip}:${sim.ingress.address.port}`,
    "",
    `  export KUBECONFIG=${sim.kubeconfigPath}`,
    "  kubectl get namespaces",
    "",
    "Ctrl-C stops it and every process it started.",
    "",
  ].join("\n"),
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await sim.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
