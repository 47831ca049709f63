// Deterministic fault injection: the next N requests matching a rule fail with a status, or are delayed;
// open watches can be cut on demand.
import type { AuditQuery } from "./audit.js";

export interface FaultRule extends AuditQuery {
  /** Also match on subresource ("status", "scale", ...). */
  subresource?: string;
  /** How many matching requests this rule affects (default 1). */
  count?: number;
  /** HTTP status to answer with (409, 410, 429, 500, ...); omit to only delay. */
  status?: number;
  reason?: string;
  message?: string;
  /** Delay before answering (or failing), in milliseconds. */
  delayMs?: number;
  /** For 429: Retry-After seconds. */
  retryAfterSeconds?: number;
}

export interface RequestFacts {
  user: string;
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface WatchCutFilter {
  resource?: string;
  namespace?: string;
  user?: string;
  abrupt?: boolean;
}

interface ActiveRule extends FaultRule {
  remaining: number;
}

export class Faults {
  private rules: ActiveRule[] = [];
  private cutters = new Set<(filter: WatchCutFilter) => boolean>();

  /** Adds a rule; returns a function that removes it. */
  add(rule: FaultRule): () => void {
    const active: ActiveRule = { ...rule, remaining: rule.count ?? 1 };
    this.rules.push(active);
    return () => {
      this.rules = this.rules.filter((r) => r !== active);
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** Rules not yet used up. */
  pending(): FaultRule[] {
    return this.rules.map(({ remaining, ...r }) => ({ ...r, count: remaining }));
  }

  /** The first rule matching the request, consumed by one; undefined when none matches. */
  take(facts: RequestFacts): FaultRule | undefined {
    const rule = this.rules.find(
      (r) =>
        r.remaining > 0 &&
        (r.verb === undefined || r.verb === facts.verb) &&
        (r.resource === undefined || r.resource === facts.resource) &&
        (r.subresource === undefined || r.subresource === facts.subresource) &&
        (r.namespace === undefined || r.namespace === facts.namespace) &&
        (r.name === undefined || r.name === facts.name) &&
        (r.user === undefined || r.user === facts.user),
    );
    if (!rule) return undefined;
    rule.remaining--;
    if (rule.remaining === 0) this.rules = this.rules.filter((r) => r !== rule);
    return rule;
  }

  /** Registers an open watch; `cut` ends it when the filter matches. Returns the unregister function. */
  registerWatch(cut: (filter: WatchCutFilter) => boolean): () => void {
    this.cutters.add(cut);
    return () => this.cutters.delete(cut);
  }

  /**
   * Ends the open watches matching `filter` (all when empty); returns how many were cut. A clean cut
   * ends the HTTP response as a server-side timeout does; `abrupt: true` resets the connection instead,
   * as a network failure would.
   */
  cutWatches(filter: WatchCutFilter = {}): number {
    let n = 0;
    for (const cut of [...this.cutters]) if (cut(filter)) n++;
    return n;
  }

  get openWatches(): number {
    return this.cutters.size;
  }
}
