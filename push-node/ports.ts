// The seams of a push node: what the node's services (login, publish, delivery, cluster) need from the
// world, each with its contract. Every port has a Redis home (adapters/redis/) and an in-memory home
// (adapters/memory/, embedded mode); one conformance suite per port runs against both
// (test/push-node/user-store-conformance.test.ts for the per-user ports, node-bus.test.ts for the bus).
import type { NodeInfo } from "../protocol/nodes.js";
import type { Position } from "../protocol/positions.js";

/** A message as an inbox keeps it and a client receives it (with its place in the inbox added). */
export interface StoredMessage {
  id: string;
  event: string;
  data: unknown;
  /** When Herald accepted it, in milliseconds since the Unix epoch. */
  ts: number;
}

// A stored message's JSON: made once however many inboxes and node streams it goes to (Envelope.message),
// and read back without parsing where only its time is wanted.
const encodings = new WeakMap<StoredMessage, string>();

/** The message as JSON, "id" first (the store finds a message's entry by the start of its JSON), "ts" last. */
export function messageJson(message: StoredMessage): string {
  let json = encodings.get(message);
  if (json === undefined) encodings.set(message, (json = JSON.stringify(message)));
  return json;
}

/**
 * The message's `ts`, read from the end of its JSON: the publisher builds a message as {id, event, data, ts},
 * so ts is the last member and its digits end the text. Anything else is parsed in full.
 */
export function messageTs(json: string): number {
  const at = json.lastIndexOf(',"ts":');
  if (at > 0 && json.charCodeAt(json.length - 1) === 125 /* } */) {
    const ts = Number(json.slice(at + 6, -1));
    if (Number.isSafeInteger(ts) && ts >= 0) return ts;
  }
  return (JSON.parse(json) as StoredMessage).ts;
}

/** Where an append put a message, and who held the user at that instant. */
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

/** An inbox's epoch and last offset outlive its messages by this factor, so that a client idle past the
 * TTL who missed nothing resumes without a false alarm, while one who missed something is told. */
export const META_TTL_FACTOR = 4;

/**
 * Inbox: each user's messages in one order (an epoch + offsets that only grow within it). Entries
 * expire after the inbox TTL and past the maximum length; the epoch and last offset live
 * META_TTL_FACTOR times longer. When the inbox is lost (expired, Redis restarted empty), the next
 * append starts a new epoch, so a client that resumes from the old one learns it (EPOCH_CHANGED).
 */
export interface Inbox {
  /**
   * Appends a message to a user's inbox and returns its position with the user's presence, atomically
   * (one operation, never an append then a read): a node that records the user before the append is in
   * `nodes`; one that records it after sees the message in the inbox. With `dedupe`, an entry with the same
   * message id appended since `sinceMs` is returned instead of appending again (the inbox entry is the
   * mark: nothing extra is stored).
   */
  append(user: string, message: StoredMessage, dedupe: Dedupe): Promise<Appended>;
  /** Up to `limit` entries after `after` (exclusive), oldest first. */
  read(user: string, after: string, limit: number): Promise<InboxEntry[]>;
  /** The inbox head now, without recording anything (what a login remembers as the user's position). */
  head(user: string): Promise<InboxHead>;
}

/**
 * Presence: which nodes (at which incarnation) hold a channel for a user. The other half of Inbox.append's
 * promise: attach records the node and reads the inbox head in one atomic operation, so every message is
 * either at or before that head (replayed) or reported to this node (live).
 */
export interface Presence {
  /** Records that `node` (at `incarnation`) holds a channel for the user; returns the inbox head at that instant. */
  attach(user: string, node: string, incarnation: string): Promise<InboxHead>;
  /** Removes the node from the user's presence if it still holds the same incarnation (a newer start keeps its entry). */
  detach(user: string, node: string, incarnation: string): Promise<void>;
}

/** Acks: per user and device, the last position the device processed. */
export interface Acks {
  /** Records that a device of the user processed everything up to `position` (never moves backwards within an epoch). */
  ack(user: string, device: string, position: Position): Promise<void>;
  /** Each device's last acknowledged position, by device id (a Map: device ids are chosen by clients). */
  acks(user: string): Promise<Map<string, Position>>;
}

/** Idempotency: publish keys bound to the message they first published, for a window. */
export interface Idempotency {
  /**
   * Binds a free `key` to this id and message digest for windowMs (claimed: true), or returns the id and
   * digest that own it (digest null for a claim written without one). Atomic: of two concurrent claims of a
   * free key, exactly one is claimed.
   */
  claim(key: string, id: string, digest: string, windowMs: number): Promise<Claim>;
}

/** The per-user ports together: one store keeps a user's keys side by side (one slot on a Redis Cluster). */
export interface UserStore extends Inbox, Presence, Acks, Idempotency {}

/** One addressee's copy: who, and where the message sits in that user's inbox. */
export interface Delivery {
  user: string;
  epoch: string;
  offset: string;
  prev: string;
}

/** A message with the addressees a node should hand it to. */
export interface Envelope {
  /** The message's JSON as the inboxes store it (messageJson): a node puts it on its sockets without parsing it. */
  message: string;
  to: Delivery[];
}

/** What a node's bus hands its messages to (delivery/channel-server.ts): called in the order they were sent. */
export interface DeliverySink {
  /** A batch for users this node held when the publisher read their presence (some may have left since). */
  deliver(envelopes: Envelope[]): void;
}

/**
 * NodeBus: one inbound stream per node. `send` resolves once the envelopes are written (or rejects: the
 * publisher then answers 503 with resend advice); a node reads only its own stream, from the moment it
 * starts consuming (what was sent before is in the inboxes, replayed on connect). At-least-once: a
 * repeat is possible, and delivery drops it by offset.
 */
export interface NodeBus {
  send(node: string, envelopes: Envelope[]): Promise<void>;
  /** Starts reading this node's stream from now on, handing each batch to `sink`; returns a function that stops reading. */
  consume(node: string, sink: DeliverySink): Promise<() => Promise<void>>;
}

/** NodeRegistry: the heartbeats of the cluster's nodes; its contract and Redis home are shared with the operator (common/node-registry.ts). */
export type { NodeRegistry } from "../common/node-registry.js";

/**
 * Membership: this node's view of the cluster, as of its last heartbeat (cluster/membership.ts keeps it
 * from the NodeRegistry). Logins choose among the live nodes; publishing skips presence entries whose
 * incarnation is older than the one known for that node. A view may lag by one heartbeat.
 */
export interface Membership {
  /** The nodes as last seen in the registry: id → incarnation. */
  knownNodes(): ReadonlyMap<string, string>;
  /** The ids of the nodes alive at the last beat. */
  liveNodeIds(): ReadonlySet<string>;
  /** Every node in the registry at the last beat, alive or not. */
  nodes(): readonly NodeInfo[];
}
