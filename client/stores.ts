// Where the last processed position is kept between application runs. Pluggable: memory (default), the
// browser's localStorage, or anything with load/save (a file, IndexedDB, the application's database —
// saving the position in the same transaction as the message's effects makes processing exactly-once
// across crashes).
import { isPosition, type Position } from "./position.js";

export interface PositionStore {
  load(): Position | null | Promise<Position | null>;
  save(position: Position): void | Promise<void>;
  /** Forgets the position (the next start replays what the server holds for this device). */
  clear?(): void | Promise<void>;
}

/** Keeps the position in this process only: it is lost on restart (the server's per-device ack then decides where to resume). */
export function memoryStore(initial: Position | null = null): PositionStore {
  let current = initial;
  return {
    load: () => current,
    save: (p) => void (current = { ...p }),
    clear: () => void (current = null),
  };
}

/** The subset of the Web Storage API that localStorageStore needs. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Keeps the position in localStorage (or any Storage) under `key`. */
export function localStorageStore(key = "herald:position", storage?: StorageLike): PositionStore {
  const s = storage ?? (globalThis as { localStorage?: StorageLike }).localStorage;
  if (!s) throw new Error("localStorageStore: no localStorage here; pass a Storage-like object");
  return {
    load() {
      const raw = s.getItem(key);
      if (!raw) return null;
      try {
        const v: unknown = JSON.parse(raw);
        return isPosition(v) ? { epoch: v.epoch, offset: v.offset } : null;
      } catch {
        return null;
      }
    },
    save: (p) => s.setItem(key, JSON.stringify({ epoch: p.epoch, offset: p.offset })),
    clear: () => s.removeItem(key),
  };
}
