// Core v1 Events recorded by the simulator's kubelet and controllers, as `kubectl describe` shows them.
import { randomBytes } from "node:crypto";
import type { Cluster } from "./cluster.js";
import { nowTimestamp, type Obj } from "./objects.js";

export interface EventSource {
  component: string;
  host?: string;
}

/** Records an Event about `involved`; never throws (an event is not worth failing for). */
export function recordEvent(cluster: Cluster, involved: Obj, type: "Normal" | "Warning", reason: string, message: string, source: EventSource): void {
  const namespace = involved.metadata?.namespace ?? "default";
  const now = nowTimestamp();
  try {
    cluster.create(cluster.builtin("events"), namespace, {
      metadata: { name: `${involved.metadata.name}.${randomBytes(8).toString("hex")}`, namespace },
      involvedObject: {
        kind: involved.kind,
        apiVersion: involved.apiVersion,
        namespace: involved.metadata?.namespace,
        name: involved.metadata.name,
        uid: involved.metadata.uid,
      },
      type,
      reason,
      message,
      source,
      reportingComponent: source.component,
      reportingInstance: source.host ?? "",
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  } catch {
    // the namespace is going away, or the object already is
  }
}
