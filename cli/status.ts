// `herald status`: the cluster as a node sees it (GET /v1/status): nodes, state, sockets, users, rates.
import type { ClusterStatus } from "../push-node/cluster/status.js";
import { baseUrl, failWith, print, requestJson } from "./http.js";

/** A fixed-width table of the status. Pure. */
export function formatStatus(s: ClusterStatus): string {
  const rows = [["NODE", "STATE", "SOCKETS", "USERS", "PUBLISHED/S", "DELIVERED/S", "URL"]];
  for (const n of s.nodes) rows.push([n.id, n.state, String(n.sockets), String(n.users), String(n.rates.published), String(n.rates.delivered), n.url]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
  const t = s.totals;
  lines.push("", `affinity version ${s.affinityVersion ?? "none"}; ${t.alive}/${t.nodes} nodes alive, ${t.sockets} sockets, ${t.users} users (answered by ${s.node})`);
  return lines.join("\n");
}

export async function statusCommand(o: { url: string; json?: boolean }): Promise<void> {
  const r = await requestJson("GET", `${baseUrl(o.url)}/v1/status`);
  if (r.status !== 200) failWith("status", r);
  print(o.json ? JSON.stringify(r.body) : formatStatus(r.body as ClusterStatus));
}
