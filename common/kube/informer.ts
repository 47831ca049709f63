// A cache of one kind of object, fed by a watch: list, then watch from the list's resourceVersion;
// resume after a clean end (the server ends each watch after `timeoutSeconds`), relist after 410 Gone
// or any error, with backoff (client-node's makeInformer stops on errors other than 410; this does not).
// Reads (get, list) come from the store; a relist reports what changed while the watch was down.
import type { Logger } from "pino";
import type { KubeRest } from "./client.js";

export type InformerEvent = "ADDED" | "MODIFIED" | "DELETED";

export interface InformerOptions {
  /** The collection, e.g. `/api/v1/pods` or `/api/v1/namespaces/apps/configmaps`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  log: Logger;
  /** Called after the store changed (also for changes a relist finds). */
  onEvent?: (type: InformerEvent, obj: any) => void;
  /** Each watch asks the server to end it after this many seconds, plus up to as much again at random (300). */
  watchTimeoutSeconds?: number;
}

const keyOf = (obj: any) => `${obj?.metadata?.namespace ?? ""}/${obj?.metadata?.name}`;

/** Whether `a` is at least as new as `b`. Resource versions are opaque, but when both are integers (etcd's revisions, the simulator's) an older one is never taken over a newer. */
export function notOlder(a: any, b: any): boolean {
  const ra = a?.metadata?.resourceVersion;
  const rb = b?.metadata?.resourceVersion;
  if (!rb || !ra || !/^\d+$/.test(ra) || !/^\d+$/.test(rb)) return true;
  return BigInt(ra) >= BigInt(rb);
}

/** Whether every label of `selector` is on the object. */
export const hasLabels = (obj: any, selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => obj?.metadata?.labels?.[k] === v);

export class Informer {
  private readonly store = new Map<string, any>();
  private abort: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private backoffMs = 200;
  private hasSynced = false;
  private syncedResolve!: () => void;
  /** Resolves after the first complete list: reads before it would see an empty store. */
  readonly synced = new Promise<void>((r) => (this.syncedResolve = r));

  constructor(private readonly rest: KubeRest, private readonly o: InformerOptions) {}

  get isSynced(): boolean {
    return this.hasSynced;
  }

  start(): this {
    void this.list();
    return this;
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    if (this.timer) clearTimeout(this.timer);
  }

  get(namespace: string | undefined, name: string): any | undefined {
    return this.store.get(`${namespace ?? ""}/${name}`);
  }

  /** The cached objects, of one namespace (all when undefined), with every label of `labels`. */
  cached(namespace?: string, labels: Record<string, string> = {}): any[] {
    const out: any[] = [];
    for (const obj of this.store.values()) if ((namespace === undefined || obj.metadata?.namespace === namespace) && hasLabels(obj, labels)) out.push(obj);
    return out;
  }

  /**
   * Takes an object the API server just returned for a write (read your own writes: the next pass may
   * start before the watch brings the change). Ignored when the store already holds a newer version.
   */
  remember(obj: any): void {
    if (!obj?.metadata?.name) return;
    const key = keyOf(obj);
    const had = this.store.get(key);
    if (had && !notOlder(obj, had)) return;
    this.store.set(key, obj);
  }

  private query(): Record<string, string> {
    return { ...(this.o.labelSelector ? { labelSelector: this.o.labelSelector } : {}), ...(this.o.fieldSelector ? { fieldSelector: this.o.fieldSelector } : {}) };
  }

  private async list(): Promise<void> {
    if (this.stopped) return;
    try {
      const list = await this.rest.get(this.o.path, this.query());
      if (this.stopped) return;
      this.replace(list.items ?? []);
      if (!this.hasSynced) {
        this.hasSynced = true;
        this.syncedResolve();
      }
      this.backoffMs = 200;
      await this.watch(list.metadata?.resourceVersion);
    } catch (err) {
      this.again(`list failed: ${(err as Error).message}`);
    }
  }

  /** A fresh list: the store becomes it, and what differs is reported as events. */
  private replace(items: any[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      seen.add(key);
      const had = this.store.get(key);
      this.store.set(key, obj);
      if (!had) this.o.onEvent?.("ADDED", obj);
      else if (had.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.o.onEvent?.("MODIFIED", obj);
    }
    for (const [key, obj] of [...this.store]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      this.o.onEvent?.("DELETED", obj);
    }
  }

  private apply(type: InformerEvent, obj: any): void {
    const key = keyOf(obj);
    const had = this.store.get(key);
    if (type === "DELETED") {
      // a newer incarnation (same name, another uid) or a newer write we already hold stays
      if (had && (had.metadata?.uid === obj.metadata?.uid || !had.metadata?.uid) && notOlder(obj, had)) this.store.delete(key);
    } else if (!had || notOlder(obj, had) || had.metadata?.uid !== obj.metadata?.uid) this.store.set(key, obj);
    this.o.onEvent?.(type, obj);
  }

  private async watch(resourceVersion: string | undefined): Promise<void> {
    if (this.stopped) return;
    let rv = resourceVersion;
    let gone = false;
    let failed: string | null = null;
    const base = this.o.watchTimeoutSeconds ?? 300;
    this.abort = await this.rest.watch(
      this.o.path,
      { ...this.query(), resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: Math.round(base * (1 + Math.random())) },
      (type, obj) => {
        if (type === "ERROR") {
          gone = obj?.code === 410;
          failed = gone ? null : `watch error: ${obj?.message ?? JSON.stringify(obj)}`;
          this.abort?.abort();
          return;
        }
        if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
        if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") this.apply(type, obj);
      },
      (err) => {
        if (this.stopped) return;
        if (gone || (err && (err as { statusCode?: number }).statusCode === 410)) {
          this.o.log.info({ path: this.o.path }, "watch expired (410); relisting");
          void this.list();
        } else if (failed) this.again(failed);
        else if (err && (err as Error).name !== "AbortError") this.again(`watch ended: ${(err as Error).message ?? err}`);
        else void this.watch(rv).catch((e: Error) => this.again(`watch failed: ${e.message}`));
      },
    );
  }

  private again(why: string): void {
    if (this.stopped) return;
    this.o.log.warn({ path: this.o.path, backoffMs: this.backoffMs }, why);
    this.timer = setTimeout(() => void this.list(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
  }
}
