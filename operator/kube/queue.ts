// A work queue keyed by object: a key waits at most once, is processed by one worker at a time,
// is retried with exponential backoff on failure, and can be asked back after a delay.
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly waiters: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly baseDelayMs = 50, private readonly maxDelayMs = 30_000) {}

  get depth(): number {
    return this.pending.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.pending.has(key)) return;
    this.pending.add(key);
    this.order.push(key);
    this.waiters.shift()?.();
  }

  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    this.timers.set(key, setTimeout(() => (this.timers.delete(key), this.add(key)), ms));
  }

  /** Retries a key after a backoff that doubles with each failure in a row. */
  retry(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (n - 1));
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Runs `work` for each key until stop(); one key is never processed by two workers at once. */
  async run(work: (key: string) => Promise<void>, workers = 2): Promise<void> {
    const worker = async () => {
      while (!this.stopped) {
        const key = this.order.shift();
        if (key === undefined) {
          await new Promise<void>((r) => this.waiters.push(r));
          continue;
        }
        this.pending.delete(key);
        this.active.add(key);
        try {
          await work(key);
        } finally {
          this.active.delete(key);
          if (this.dirty.delete(key)) this.add(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
