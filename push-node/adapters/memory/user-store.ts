// The embedded home of the per-user ports (ports.ts): one process, no Redis. The same contract as the Redis
// home, bounded alike; test/push-node/user-store-conformance.test.ts runs one suite against both.
import { randomUUID } from "node:crypto";
import { META_TTL_FACTOR, type Appended, type Claim, type Dedupe, type InboxEntry, type InboxHead, type StoredMessage, type UserStore } from "../../ports.js";
import { START, compareOffsets, type Position } from "../../../protocol/positions.js";

interface Inbox {
  epoch: string;
  last: string;
  entries: InboxEntry[];
  /** When the entries expire (the stream's TTL) and when the epoch and last offset are forgotten (META_TTL_FACTOR × TTL). */
  expiresAt: number;
  metaExpiresAt: number;
}

export class MemoryUserStore implements UserStore {
  private readonly inboxes = new Map<string, Inbox>();
  private readonly presence = new Map<string, Map<string, string>>();
  private readonly acked = new Map<string, Map<string, Position>>();
  private readonly claims = new Map<string, { id: string; digest: string; until: number }>();
  private lastMs = 0;
  private seq = 0;

  constructor(private readonly bounds: { ttlMs: number; maxLength: number }, private readonly now: () => number = Date.now) {}

  async append(user: string, message: StoredMessage, dedupe: Dedupe): Promise<Appended> {
    const now = this.now();
    let inbox = this.live(user);
    if (!inbox) {
      inbox = { epoch: randomUUID().slice(0, 8), last: START, entries: [], expiresAt: 0, metaExpiresAt: 0 };
      this.inboxes.set(user, inbox);
    }
    const nodes = Object.fromEntries(this.presence.get(user) ?? []);
    if (dedupe)
      for (let i = inbox.entries.length - 1; i >= 0; i--) {
        const e = inbox.entries[i]!;
        if (Number(e.offset.split("-")[0]) < dedupe.sinceMs) break;
        if (e.message.id === message.id) return { epoch: inbox.epoch, offset: e.offset, prev: e.prev, nodes };
      }
    const offset = this.nextOffset(now);
    const entry = { offset, prev: inbox.last, message };
    inbox.entries.push(entry);
    inbox.last = offset;
    inbox.expiresAt = now + this.bounds.ttlMs;
    inbox.metaExpiresAt = now + this.bounds.ttlMs * META_TTL_FACTOR;
    const minMs = now - this.bounds.ttlMs;
    while (inbox.entries.length > this.bounds.maxLength || (inbox.entries[0] && Number(inbox.entries[0].offset.split("-")[0]) < minMs)) inbox.entries.shift();
    return { epoch: inbox.epoch, offset, prev: entry.prev, nodes };
  }

  async attach(user: string, node: string, incarnation: string): Promise<InboxHead> {
    let nodes = this.presence.get(user);
    if (!nodes) this.presence.set(user, (nodes = new Map()));
    nodes.set(node, incarnation);
    const inbox = this.live(user);
    if (!inbox) return { epoch: null, last: START };
    return { epoch: inbox.epoch, last: inbox.last };
  }

  async head(user: string): Promise<InboxHead> {
    const inbox = this.live(user);
    return inbox ? { epoch: inbox.epoch, last: inbox.last } : { epoch: null, last: START };
  }

  async detach(user: string, node: string, incarnation: string): Promise<void> {
    const nodes = this.presence.get(user);
    if (nodes?.get(node) === incarnation) nodes.delete(node);
    if (nodes && nodes.size === 0) this.presence.delete(user);
  }

  async read(user: string, after: string, limit: number): Promise<InboxEntry[]> {
    const inbox = this.live(user);
    if (!inbox) return [];
    const out: InboxEntry[] = [];
    for (const e of inbox.entries) {
      if (compareOffsets(e.offset, after) > 0) out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  async ack(user: string, device: string, position: Position): Promise<void> {
    let devices = this.acked.get(user);
    if (!devices) this.acked.set(user, (devices = new Map()));
    const old = devices.get(device);
    if (old && old.epoch === position.epoch && compareOffsets(old.offset, position.offset) >= 0) return;
    devices.set(device, { ...position });
  }

  async acks(user: string): Promise<Map<string, Position>> {
    return new Map([...(this.acked.get(user) ?? [])].map(([device, p]) => [device, { ...p }]));
  }

  async claim(key: string, id: string, digest: string, windowMs: number): Promise<Claim> {
    const now = this.now();
    const held = this.claims.get(key);
    if (held && held.until > now) return { id: held.id, digest: held.digest, claimed: false };
    this.claims.set(key, { id, digest, until: now + windowMs });
    if (this.claims.size > 10_000) for (const [k, c] of this.claims) if (c.until <= now) this.claims.delete(k);
    return { id, digest, claimed: true };
  }

  /** The user's inbox as Redis would hold it now: forgotten past its meta TTL, emptied past its TTL. */
  private live(user: string): Inbox | undefined {
    const inbox = this.inboxes.get(user);
    if (!inbox) return undefined;
    const now = this.now();
    if (inbox.metaExpiresAt <= now) {
      this.inboxes.delete(user);
      return undefined;
    }
    if (inbox.expiresAt <= now) inbox.entries = [];
    return inbox;
  }

  private nextOffset(now: number): string {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else this.seq++;
    return `${this.lastMs}-${this.seq}`;
  }
}
