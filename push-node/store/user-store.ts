// Per-user state kept in Redis: each addressee's inbox of messages (a stream
// whose positions order that user's messages), the epoch of that inbox, and the user's presence
// (which nodes hold a channel for the user). One interface, a Redis and an in-memory home.

import type { Position } from "../../protocol/positions.js";

export interface StoredMessage {
  id: string;
  event: string;
  data: unknown;
  /** When Herald accepted it, in milliseconds since the Unix epoch. */
  ts: number;
}

export interface Appended extends Position {
  prev: string;
  /** The user's presence: node id → that node's incarnation when it recorded the user. */
  nodes: Record<string, string>;
  /** The store already put the message on the streams of those nodes (atomically with the append): nothing is left to send. */
  sent?: boolean;
}

export interface InboxEntry {
  offset: string;
  prev: string;
  message: StoredMessage;
}

export interface InboxHead {
  /** null while the user has no inbox (never written, or expired and forgotten). */
  epoch: string | null;
  /** The offset of the last message ever appended in this epoch ("0-0" when none). */
  last: string;
}

/** Look for the message among the entries appended since this time (ms) before appending it; or false. */
export type Dedupe = false | { sinceMs: number };

export interface Claim {
  id: string;
  digest: string | null;
  claimed: boolean;
}

export interface UserStore {
  /**
   * Appends a message to a user's inbox and returns its position with the user's presence, atomically:
   * a node that records the user before the append is in `nodes`; one that records it after sees the
   * message in the inbox. With `dedupe`, an entry with the same message id appended since `sinceMs`
   * is returned instead of appending again (the inbox entry is the mark: nothing extra is stored).
   */
  append(user: string, message: StoredMessage, dedupe: Dedupe): Promise<Appended>;
  /** Records that `node` (at `incarnation`) holds a channel for the user; returns the inbox head at that instant. */
  attach(user: string, node: string, incarnation: string): Promise<InboxHead>;
  /** The inbox head now, without recording anything (what a login remembers as the user's position). */
  head(user: string): Promise<InboxHead>;
  /** Removes the node from the user's presence if it still holds the same incarnation. */
  detach(user: string, node: string, incarnation: string): Promise<void>;
  /** Up to `limit` entries after `after` (exclusive), oldest first. */
  read(user: string, after: string, limit: number): Promise<InboxEntry[]>;
  /** Records that a device of the user processed everything up to `position` (never moves backwards within an epoch). */
  ack(user: string, device: string, position: Position): Promise<void>;
  /** Each device's last acknowledged position, by device id (a Map: device ids are chosen by clients). */
  acks(user: string): Promise<Map<string, Position>>;
  /**
   * Idempotency: binds a free `key` to this id and message digest for windowMs (claimed: true), or
   * returns the id and digest that own it (digest null for a claim written without one).
   */
  claim(key: string, id: string, digest: string, windowMs: number): Promise<Claim>;
}

/** An inbox's epoch and last offset outlive its messages by this factor, so that a client idle past the
 * TTL who missed nothing resumes without a false alarm, while one who missed something is told. */
export const META_TTL_FACTOR = 4;
