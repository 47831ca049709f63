// meta.k8s.io/v1 Table rendering for `kubectl get` (pure): Name, the printer columns, Age.
import { evalSimpleJsonPath, humanDuration, type Obj } from "./objects.js";
import type { PrinterColumn, ResourceType } from "./resources.js";

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  cell: (o: Obj, now: number) => unknown;
}

const age = (o: Obj, now: number) => (o.metadata?.creationTimestamp ? humanDuration(now - Date.parse(o.metadata.creationTimestamp)) : "<unknown>");
const nameColumn: Column = { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.", priority: 0, cell: (o) => o.metadata?.name };
const ageColumn: Column = { name: "Age", type: "string", description: "CreationTimestamp is a timestamp representing the server time when this object was created.", priority: 0, cell: age };

function podStatusCell(o: Obj): string {
  if (o.metadata?.deletionTimestamp) return "Terminating";
  const waiting = (o.status?.containerStatuses ?? []).find((c: Obj) => c.state?.waiting?.reason);
  if (waiting) return waiting.state.waiting.reason;
  return o.status?.phase ?? "Pending";
}

function builtinColumns(kind: string): Column[] {
  const col = (name: string, cell: Column["cell"], type = "string"): Column => ({ name, type, description: name, priority: 0, cell });
  switch (kind) {
    case "Pod":
      return [
        nameColumn,
        col("Ready", (o) => `${(o.status?.containerStatuses ?? []).filter((c: Obj) => c.ready).length}/${(o.spec?.containers ?? []).length}`),
        col("Status", podStatusCell),
        col("Restarts", (o) => (o.status?.containerStatuses ?? []).reduce((n: number, c: Obj) => n + (c.restartCount ?? 0), 0), "integer"),
        ageColumn,
        { ...col("IP", (o) => o.status?.podIP ?? "<none>"), priority: 1 },
      ];
    case "StatefulSet":
      return [nameColumn, col("Ready", (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`), ageColumn];
    case "Deployment":
      return [
        nameColumn,
        col("Ready", (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`),
        col("Up-to-date", (o) => o.status?.updatedReplicas ?? 0, "integer"),
        col("Available", (o) => o.status?.availableReplicas ?? 0, "integer"),
        ageColumn,
      ];
    case "Service":
      return [
        nameColumn,
        col("Type", (o) => o.spec?.type),
        col("Cluster-IP", (o) => o.spec?.clusterIP ?? "<none>"),
        col("External-IP", (o) => (o.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip ?? i.hostname).join(",") || (o.spec?.type === "LoadBalancer" ? "<pending>" : "<none>")),
        col("Port(s)", (o) => (o.spec?.ports ?? []).map((p: Obj) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`).join(",") || "<none>"),
        ageColumn,
      ];
    case "PodDisruptionBudget":
      return [
        nameColumn,
        col("Min Available", (o) => (o.spec?.minAvailable !== undefined ? String(o.spec.minAvailable) : "N/A")),
        col("Max Unavailable", (o) => (o.spec?.maxUnavailable !== undefined ? String(o.spec.maxUnavailable) : "N/A")),
        col("Allowed Disruptions", (o) => o.status?.disruptionsAllowed ?? 0, "integer"),
        ageColumn,
      ];
    case "Ingress":
      return [
        nameColumn,
        col("Class", (o) => o.spec?.ingressClassName ?? "<none>"),
        col("Hosts", (o) => (o.spec?.rules ?? []).map((r: Obj) => r.host ?? "*").join(",") || "*"),
        col("Address", (o) => (o.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip ?? i.hostname).join(",")),
        col("Ports", (o) => (o.spec?.tls?.length ? "80, 443" : "80")),
        ageColumn,
      ];
    case "Namespace":
      return [nameColumn, col("Status", (o) => o.status?.phase ?? "Active"), ageColumn];
    case "ConfigMap":
    case "Secret":
      return [nameColumn, col("Data", (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, "integer"), ageColumn];
    case "Endpoints":
      return [
        nameColumn,
        col("Endpoints", (o) => (o.subsets ?? []).flatMap((s: Obj) => (s.addresses ?? []).flatMap((a: Obj) => (s.ports ?? []).map((p: Obj) => `${a.ip}:${p.port}`))).join(",") || "<none>"),
        ageColumn,
      ];
    case "Event":
      // as the real server prints them: no Name column; the rest at priority 1 (kubectl get events -o wide)
      return [
        col("Last Seen", (o, now) => {
          const at = o.lastTimestamp ?? o.eventTime ?? o.firstTimestamp ?? o.metadata?.creationTimestamp;
          return at ? humanDuration(now - Date.parse(at)) : "<unknown>";
        }),
        col("Type", (o) => o.type ?? ""),
        col("Reason", (o) => o.reason ?? ""),
        col("Object", (o) => (o.involvedObject?.kind ? `${String(o.involvedObject.kind).toLowerCase()}/${o.involvedObject.name}` : "")),
        col("Message", (o) => o.message ?? o.note ?? ""),
        { ...col("Source", (o) => o.source?.component ?? o.reportingComponent ?? ""), priority: 1 },
        { ...col("Count", (o) => o.count ?? 1, "integer"), priority: 1 },
        { ...nameColumn, priority: 1 },
      ];
    case "Node":
      return [
        nameColumn,
        col("Status", (o) => {
          const ready = (o.status?.conditions ?? []).find((c: Obj) => c.type === "Ready");
          const status = ready?.status === "True" ? "Ready" : ready ? "NotReady" : "Unknown";
          return o.spec?.unschedulable ? `${status},SchedulingDisabled` : status;
        }),
        col("Roles", (o) =>
          Object.keys(o.metadata?.labels ?? {})
            .filter((l) => l.startsWith("node-role.kubernetes.io/"))
            .map((l) => l.slice("node-role.kubernetes.io/".length))
            .sort()
            .join(",") || "<none>",
        ),
        ageColumn,
        col("Version", (o) => o.status?.nodeInfo?.kubeletVersion ?? ""),
        { ...col("Internal-IP", (o) => (o.status?.addresses ?? []).find((a: Obj) => a.type === "InternalIP")?.address ?? "<none>"), priority: 1 },
      ];
    default:
      return [nameColumn, ageColumn];
  }
}

function printerColumn(c: PrinterColumn): Column {
  return {
    name: c.name,
    type: c.type,
    ...(c.format ? { format: c.format } : {}),
    description: c.description ?? "",
    priority: c.priority ?? 0,
    cell: (o, now) => {
      const v = evalSimpleJsonPath(o, c.jsonPath);
      if (v === undefined || v === null) return null;
      if (c.type === "date") return typeof v === "string" ? humanDuration(now - Date.parse(v)) : null;
      if (c.type === "integer" || c.type === "number") return typeof v === "number" ? v : Number(v);
      if (c.type === "boolean") return typeof v === "boolean" ? v : String(v) === "true";
      if (Array.isArray(v)) return v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(",");
      return typeof v === "object" ? JSON.stringify(v) : String(v);
    },
  };
}

export function columnsFor(t: ResourceType): Column[] {
  if (!t.custom) return builtinColumns(t.kind);
  if (t.printerColumns && t.printerColumns.length > 0) return [nameColumn, ...t.printerColumns.map(printerColumn)];
  return [nameColumn, ageColumn];
}

/** A Table of `objects`; `includeObject` is "None", "Metadata" (default) or "Object". */
export function toTable(t: ResourceType, objects: Obj[], listMetadata: Obj, includeObject = "Metadata", now = Date.now()): Obj {
  const columns = columnsFor(t);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMetadata,
    columnDefinitions: columns.map(({ cell: _c, ...def }) => def),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o, now) ?? null),
      ...(includeObject === "None"
        ? {}
        : { object: includeObject === "Object" ? o : { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata } }),
    })),
  };
}
