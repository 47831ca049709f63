// Kubernetes Events about a PushCluster, so `kubectl describe` and `kubectl get events` say what the operator did.
import type { Logger } from "pino";
import type { KubeRest } from "../../common/kube/client.js";

export interface Involved {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export class EventRecorder {
  private seq = 0;
  constructor(private readonly rest: KubeRest, private readonly component: string, private readonly log: Logger) {}

  async record(obj: Involved, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const name = `${obj.name}.${Date.now().toString(16)}${(this.seq++ % 4096).toString(16).padStart(3, "0")}`;
    try {
      await this.rest.request("POST", `/api/v1/namespaces/${obj.namespace}/events`, {
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: { name, namespace: obj.namespace },
          involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.name, namespace: obj.namespace, uid: obj.uid },
          type,
          reason,
          message,
          source: { component: this.component },
          reportingComponent: this.component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, reason }, "could not record an event");
    }
  }
}
