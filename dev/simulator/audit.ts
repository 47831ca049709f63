// The audit log: one entry per API request, for tests to check what a component really did.
import type { Identity } from "./rbac.js";

export interface AuditEntry {
  time: string;
  user: string;
  groups: string[];
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  code: number;
  uri: string;
}

export interface AuditQuery {
  user?: string;
  verb?: string;
  resource?: string;
  namespace?: string;
  name?: string;
}

export class AuditLog {
  readonly entries: AuditEntry[] = [];

  record(who: Identity, fields: Omit<AuditEntry, "time" | "user" | "groups">): void {
    this.entries.push({ time: new Date().toISOString(), user: who.username, groups: who.groups, ...fields });
  }

  /** Entries matching every given field. */
  find(query: AuditQuery = {}): AuditEntry[] {
    return this.entries.filter((e) => Object.entries(query).every(([k, v]) => v === undefined || (e as unknown as Record<string, unknown>)[k] === v));
  }

  clear(): void {
    this.entries.length = 0;
  }
}
