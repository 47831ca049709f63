// One channel (a connected socket) and what it receives. `socket.data` holds a `Channel` from the
// handshake until the socket leaves: one shape all along.
import type { Position } from "../../protocol/positions.js";
import { START, compareOffsets } from "../../protocol/positions.js";
import type { StoredMessage } from "../ports.js";
import type { LoginPosition } from "./resume.js";
import type { SocketGuard } from "./socket-guard.js";
import type { UserLink } from "./user-links.js";

/** What a client receives in a `message` event. */
export interface Pushed extends StoredMessage {
  epoch: string;
  offset: string;
  prev: string;
}

/**
 * A stored message on its way to sockets: its place in one user's inbox and its JSON as stored, turned into
 * the `message` packet (a Pushed) once, by string, however many sockets take it: the message is never parsed
 * and encoded again on the way.
 */
export interface Frame {
  epoch: string;
  offset: string;
  prev: string;
  /** The message's JSON as stored (ports.ts, messageJson). */
  json: string;
  packet: string | null;
}

export function frame(json: string, epoch: string, offset: string, prev: string): Frame {
  return { epoch, offset, prev, json, packet: null };
}

/** A frame for a message read back from an inbox. */
export function frameOf(m: StoredMessage, epoch: string, offset: string, prev: string): Frame {
  return frame(JSON.stringify(m), epoch, offset, prev);
}

/**
 * The Socket.IO packet of the frame's `message` event on the main namespace, the very text that
 * `socket.emit("message", pushed)` writes for the Pushed {...message, epoch, offset, prev}
 * (test/push-node/frame.test.ts compares them).
 */
export function packetOf(f: Frame): string {
  return (f.packet ??= `2["message",${f.json.slice(0, -1)},"epoch":${JSON.stringify(f.epoch)},"offset":${JSON.stringify(f.offset)},"prev":${JSON.stringify(f.prev)}}]`);
}

/** The most live messages a channel queues while it replays; past it, it reads them from the inbox instead. */
export const QUEUE_LIMIT = 2000;

export interface Channel {
  user: string;
  /** The user's link to this node, shared by the user's channels here. */
  link: UserLink;
  device: string | null;
  /** From the handshake, read once when the channel starts: where the client asked to resume, and where the login left the inbox. */
  since: Position | null;
  login: LoginPosition | null;
  /** The handshake still counts among `link.handshakes` (until the socket connects, or a tick passes without it). */
  handshakeOpen: boolean;
  /** The latest ack not yet written. */
  ack: Position | null;
  /** Replay is over: live messages go out at once instead of queueing. */
  live: boolean;
  /** The position of the last message sent (repeats and older ones are not sent). */
  epoch: string | null;
  last: string;
  queue: Frame[];
  overflow: boolean;
  /** Bytes queued for the socket and packets it sends, against the per-socket limits (set once it connects). */
  guard: SocketGuard | null;
}

export function newChannel(user: string, link: UserLink, device: string | null, since: Position | null, login: LoginPosition | null): Channel {
  return { user, link, device, since, login, handshakeOpen: true, ack: null, live: false, epoch: null, last: START, queue: [], overflow: false, guard: null };
}

/** Whether the channel takes the message now: a channel still replaying queues live ones, and none gets a repeat. */
export function admit(channel: Channel, p: Frame, mode: "live" | "replay"): boolean {
  if (mode === "live" && !channel.live) {
    if (channel.queue.length >= QUEUE_LIMIT) channel.overflow = true;
    else channel.queue.push(p);
    return false;
  }
  if (p.epoch === channel.epoch && compareOffsets(p.offset, channel.last) <= 0) return false;
  channel.epoch = p.epoch;
  channel.last = p.offset;
  return true;
}
