// Kubeconfig files pointing at the simulator (pure rendering; the caller writes the file).
import YAML from "yaml";

export interface KubeconfigInput {
  server: string;
  caCert: string;
  token: string;
  user?: string;
  namespace?: string;
  clusterName?: string;
}

export function renderKubeconfig(k: KubeconfigInput): string {
  const cluster = k.clusterName ?? "herald-sim";
  const user = k.user ?? "kubernetes-admin";
  return YAML.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: { server: k.server, "certificate-authority-data": Buffer.from(k.caCert).toString("base64") } }],
    users: [{ name: user, user: { token: k.token } }],
    contexts: [{ name: cluster, context: { cluster, user, ...(k.namespace ? { namespace: k.namespace } : {}) } }],
    "current-context": cluster,
    preferences: {},
  });
}
