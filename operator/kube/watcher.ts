// List, then watch from the list's resourceVersion; resume after a clean end, relist after 410 Gone or
// an error (with backoff). Client-node's makeInformer stops on errors other than 410; this does not.
import { Watch, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { KubeRest } from "./rest.js";

export type WatchHandler = (type: "SYNC" | "ADDED" | "MODIFIED" | "DELETED", obj: any) => void;

export class Watcher {
  private abort: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private backoffMs = 200;
  private synced!: () => void;
  /** Resolves after the first complete list. */
  readonly ready = new Promise<void>((r) => (this.synced = r));

  constructor(
    private readonly kc: KubeConfig,
    private readonly rest: KubeRest,
    private readonly path: string,
    private readonly query: Record<string, string>,
    private readonly handler: WatchHandler,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.list();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    if (this.timer) clearTimeout(this.timer);
  }

  private async list(): Promise<void> {
    if (this.stopped) return;
    try {
      const list = await this.rest.get(this.path, this.query);
      for (const item of list.items ?? []) this.handler("SYNC", item);
      this.synced();
      this.backoffMs = 200;
      await this.watch(list.metadata?.resourceVersion);
    } catch (err) {
      this.again(`list failed: ${(err as Error).message}`);
    }
  }

  private async watch(resourceVersion: string | undefined): Promise<void> {
    if (this.stopped) return;
    let rv = resourceVersion;
    let gone = false;
    const w = new Watch(this.kc);
    this.abort = await w.watch(
      this.path,
      { ...this.query, resourceVersion: rv, allowWatchBookmarks: true },
      (type, obj) => {
        if (type === "ERROR") {
          gone = obj?.code === 410;
          this.abort?.abort();
          return;
        }
        if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
        if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") this.handler(type, obj);
      },
      (err) => {
        if (this.stopped) return;
        if (gone || (err && (err as { statusCode?: number }).statusCode === 410)) {
          this.log.info({ path: this.path }, "watch expired (410); relisting");
          void this.list();
        } else if (err && (err as Error).name !== "AbortError") this.again(`watch ended: ${(err as Error).message ?? err}`);
        else void this.watch(rv).catch((e: Error) => this.again(`watch failed: ${e.message}`));
      },
    );
  }

  private again(why: string): void {
    if (this.stopped) return;
    this.log.warn({ path: this.path, backoffMs: this.backoffMs }, why);
    this.timer = setTimeout(() => void this.list(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
  }
}
