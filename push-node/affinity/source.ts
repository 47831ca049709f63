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

/** Watches one ConfigMap through the Kubernetes API, with the client the operator uses (common/kube: list, then watch by name; resume, relist with backoff). */
export class ConfigMapAffinitySource extends BaseSource implements AffinitySource {
  private informer: { stop(): void } | null = null;
  private stopped = false;
  constructor(private readonly cfg: Extract<AffinitySourceConfig, { kind: "configmap" }>, private readonly log: Logger) {
    super();
  }
  async start(): Promise<void> {
    // loaded only here: a node without a ConfigMap source never loads the Kubernetes client
    const [{ KubeRest }, { Informer }] = await Promise.all([import("../../common/kube/client.js"), import("../../common/kube/informer.js")]);
    if (this.stopped) return;
    const { namespace, name } = this.cfg;
    const informer = new Informer(KubeRest.fromDefault(), {
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      fieldSelector: `metadata.name=${name}`,
      log: this.log,
      onEvent: (type, obj) => {
        if (type !== "DELETED" && obj?.metadata?.name === name) this.apply(obj.data ?? {});
      },
    });
    this.informer = informer.start();
    void informer.synced.then(() => {
      if (!informer.get(namespace, name)) this.log.warn({ namespace, name }, "affinity ConfigMap not found yet; waiting for it");
    });
  }
  stop(): void {
    this.stopped = true;
    this.informer?.stop();
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
