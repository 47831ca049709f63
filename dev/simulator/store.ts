// The in-memory object store: objects by resource and key, a global resourceVersion counter (as etcd's
// revision), a bounded history of change events for watch resumption, and change subscribers.
import { clone, type Obj } from "./objects.js";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  rv: number;
  type: EventType;
  storageKey: string;
  object: Obj;
  /** The object before a MODIFIED/DELETED change. */
  previous?: Obj;
}

export type Subscriber = (event: StoreEvent) => void;

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

export class Store {
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly history: StoreEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private readonly pending: StoreEvent[] = [];
  private delivering = false;
  private revision = 1;
  /** Events with rv <= this are no longer in history: watches from older versions get 410 Gone. */
  private compactedRevision = 1;

  constructor(private readonly historyLimit = 5000) {}

  get currentRevision(): number {
    return this.revision;
  }

  get oldestResumableRevision(): number {
    return this.compactedRevision;
  }

  private bucket(storageKey: string): Map<string, Obj> {
    let b = this.objects.get(storageKey);
    if (!b) {
      b = new Map();
      this.objects.set(storageKey, b);
    }
    return b;
  }

  get(storageKey: string, namespace: string | undefined, name: string): Obj | undefined {
    return clone(this.objects.get(storageKey)?.get(objectKey(namespace, name)));
  }

  /** Objects of a resource, sorted by namespace/name, optionally in one namespace. */
  list(storageKey: string, namespace?: string): Obj[] {
    const b = this.objects.get(storageKey);
    if (!b) return [];
    return [...b.entries()]
      .filter(([, o]) => namespace === undefined || o.metadata?.namespace === namespace)
      .sort(([a], [b2]) => (a < b2 ? -1 : a > b2 ? 1 : 0))
      .map(([, o]) => clone(o));
  }

  /** Every stored object with its storage key (used by garbage collection and namespace deletion). */
  all(): { storageKey: string; object: Obj }[] {
    const out: { storageKey: string; object: Obj }[] = [];
    for (const [storageKey, b] of this.objects) for (const o of b.values()) out.push({ storageKey, object: clone(o) });
    return out;
  }

  /** Writes an object (assigning the next resourceVersion) and records the event. */
  put(storageKey: string, object: Obj): Obj {
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    const b = this.bucket(storageKey);
    const previous = b.get(key);
    const rv = ++this.revision;
    const stored = clone(object);
    stored.metadata.resourceVersion = String(rv);
    b.set(key, stored);
    this.record({ rv, type: previous ? "MODIFIED" : "ADDED", storageKey, object: clone(stored), previous: clone(previous) });
    return clone(stored);
  }

  remove(storageKey: string, namespace: string | undefined, name: string): Obj | undefined {
    const b = this.objects.get(storageKey);
    const key = objectKey(namespace, name);
    const previous = b?.get(key);
    if (!b || !previous) return undefined;
    b.delete(key);
    const rv = ++this.revision;
    const object = clone(previous);
    object.metadata.resourceVersion = String(rv);
    this.record({ rv, type: "DELETED", storageKey, object: clone(object), previous: clone(previous) });
    return object;
  }

  /** Appends to the history (bounded: the oldest events are compacted away) and tells the subscribers. */
  private record(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) this.compactedRevision = this.history.shift()!.rv;
    // Subscribers may write while being told of an event: their events are queued, so that every
    // subscriber (every watch) sees all events in resourceVersion order.
    this.pending.push(event);
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        for (const s of [...this.subscribers]) {
          try {
            s(next);
          } catch (err) {
            process.stderr.write(`simulator: subscriber failed: ${String(err)}\n`);
          }
        }
      }
    } finally {
      this.delivering = false;
    }
  }

  /** Forgets all history up to now: watches resuming from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.compactedRevision = this.revision;
  }

  /** Events after `rv` for one resource, or undefined when `rv` is older than the retained window. */
  eventsSince(storageKey: string, rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRevision) return undefined;
    return this.history.filter((e) => e.rv > rv && e.storageKey === storageKey).map((e) => clone(e));
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }
}
