// Where the affinity document comes from: a file reloaded on change, a Kubernetes ConfigMap that is
// watched, or (auto) the live nodes' own announcements. Each source keeps the latest valid document.
import { EventEmitter } from "node:events";
import { readFile, stat } from "node:fs/promises";
import { unwatchFile, watchFile } from "node:fs";
import type { Logger } from "pino";
import { parseAffinityDocument, type AffinityDocument } from "../../protocol/affinity-document.js";
import type { AffinitySourceConfig } from "../config.js";
import type { NodeInfo } from "../../protocol/nodes.js";

export interface AffinitySource extends EventEmitter<{ change: [AffinityDocument] }> {
  current(): AffinityDocument | null;
  start(): Promise<void>;
  stop(): void;
  /** The live nodes, after every heartbeat: the auto source builds its document from them; others ignore them. */
  liveNodesChanged(nodes: NodeInfo[]): void;
}

class BaseSource extends EventEmitter<{ change: [AffinityDocument] }> {
  protected doc: AffinityDocument | null = null;
  current(): AffinityDocument | null {
    return this.doc;
  }
  liveNodesChanged(_nodes: NodeInfo[]): void {}
  protected set(doc: AffinityDocument): void {
    this.doc = doc;
    this.emit("change", doc);
  }
}

/** Reads a JSON file and re-reads it when it changes (polling its stat, which also survives renames). */
export class FileAffinitySource extends BaseSource implements AffinitySource {
  private lastText = "";
  constructor(private readonly path: string, private readonly log: Logger, private readonly intervalMs = 250) {
    super();
  }
  async start(): Promise<void> {
    await this.reload();
    watchFile(this.path, { interval: this.intervalMs }, () => void this.reload());
  }
  stop(): void {
    unwatchFile(this.path);
  }
  private async reload(): Promise<void> {
    let text: string;
    try {
      await stat(this.path);
      text = await readFile(this.path, "utf8");
    } catch (err) {
      this.log.error({ path: this.path, err: (err as Error).message }, "cannot read the affinity file; keeping the last document");
      return;
    }
    if (text === this.lastText) return;
    this.lastText = text;
    try {
      const doc = parseAffinityDocument(text);
      this.log.info({ path: this.path, version: doc.version, nodes: doc.nodes.length }, "affinity document loaded");
      this.set(doc);
    } catch (err) {
      this.log.error({ path: this.path, err: (err as Error).message }, "rejected the affinity file; keeping the last document");
    }
  }
}

/** A document built from the nodes that announce themselves (no operator, no file): every live node is active. */
export class AutoAffinitySource extends BaseSource implements AffinitySource {
  private version = 0;
  private key = "";
  async start(): Promise<void> {}
  stop(): void {}
  override liveNodesChanged(nodes: NodeInfo[]): void {
    const active = nodes.filter((n) => n.state === "active").sort((a, b) => a.id.localeCompare(b.id));
    const key = active.map((n) => `${n.id} ${n.url} ${n.path}`).join("\n");
    if (key === this.key && this.doc) return;
    this.key = key;
    this.set({ version: ++this.version, nodes: active.map((n) => ({ id: n.id, url: n.url, path: n.path, state: "active" as const })), pins: {} });
  }
}

/** Watches one ConfigMap through the Kubernetes API (list, then watch from its resourceVersion; relist on any end). */
export class ConfigMapAffinitySource extends BaseSource implements AffinitySource {
  private abort: AbortController | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private backoffMs = 250;
  constructor(private readonly cfg: Extract<AffinitySourceConfig, { kind: "configmap" }>, private readonly log: Logger) {
    super();
  }
  async start(): Promise<void> {
    void this.loop();
  }
  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    if (this.retry) clearTimeout(this.retry);
  }
  private async loop(): Promise<void> {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    kc.loadFromDefault();
    const api = kc.makeApiClient(k8s.CoreV1Api);
    const { namespace, name } = this.cfg;
    const fieldSelector = `metadata.name=${name}`;
    try {
      const list = await api.listNamespacedConfigMap({ namespace, fieldSelector });
      const item = list.items[0];
      if (item) this.apply(item.data ?? {});
      else this.log.warn({ namespace, name }, "affinity ConfigMap not found yet; waiting for it");
      const watch = new k8s.Watch(kc);
      this.abort = await watch.watch(
        `/api/v1/namespaces/${namespace}/configmaps`,
        { fieldSelector, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
        (phase, obj) => {
          if ((phase === "ADDED" || phase === "MODIFIED") && obj?.data) this.apply(obj.data);
        },
        (err) => this.again(err),
      );
      this.backoffMs = 250;
    } catch (err) {
      this.again(err);
    }
  }
  private again(err: unknown): void {
    if (this.stopped) return;
    if (err) this.log.warn({ err: String((err as Error)?.message ?? err) }, "affinity ConfigMap watch ended; relisting");
    this.retry = setTimeout(() => void this.loop(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 5000);
  }
  private apply(data: Record<string, string>): void {
    const text = data[this.cfg.key];
    if (text === undefined) {
      this.log.error({ key: this.cfg.key }, "affinity ConfigMap has no such key; keeping the last document");
      return;
    }
    try {
      const doc = parseAffinityDocument(text);
      if (this.doc && this.doc.version === doc.version && JSON.stringify(this.doc) === JSON.stringify(doc)) return;
      this.log.info({ version: doc.version, nodes: doc.nodes.length }, "affinity document loaded from ConfigMap");
      this.set(doc);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "rejected the affinity ConfigMap; keeping the last document");
    }
  }
}
