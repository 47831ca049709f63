// Per-socket protection against slow and greedy clients: how many bytes wait to be written to a socket
// (past a limit, the socket is cut and its messages wait in the inbox for replay), and how many packets
// a client sends (past a rate, it is cut too). O(1) per packet, and small per socket: a node holds tens of
// thousands of sockets, so a guard is one object with no closures of its own: the queued bytes are read
// from engine.io's write buffer when asked (one server-wide listener says when a socket flushed it), and one
// listener function, shared by every socket, counts inbound packets.
import { take, type Bucket, type Rate } from "../limits/token-bucket.js";

const GUARD = Symbol("herald.guard");

/** The parts of an engine.io socket this reads (engine.io does not export the type with its transport). */
export interface EngineConn {
  on(event: "packet", fn: (this: EngineConn) => void): unknown;
  off(event: "packet", fn: (this: EngineConn) => void): unknown;
  /** Packets handed to engine.io and not yet passed to the transport (a new array after each flush). */
  writeBuffer: { data?: unknown }[];
  transport?: { name?: string; socket?: { bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): void;
  [GUARD]?: SocketGuard;
}

export type GuardReason = "OUTBOUND_BUFFER_FULL" | "INBOUND_FLOOD";

export interface GuardLimits {
  /** Bytes queued for the socket (engine.io's write buffer + the WebSocket's unsent bytes). */
  maxQueuedBytes: number;
  /** Packets a client may send: a token bucket (perMinute 0 = off). */
  inbound: Rate;
}

/** Shared by every socket's guard: the limits and what to do when a socket is cut. */
export interface GuardPolicy {
  limits: GuardLimits;
  onTrip: (reason: GuardReason, guard: SocketGuard) => void;
}

/** Every socket's "packet" listener (engine.io calls it with the socket as `this`). */
function countInbound(this: EngineConn): void {
  this[GUARD]?.inbound();
}

/** Engine.io's server-wide "flush" event: a socket handed its write buffer to the transport. */
function flushed(conn: EngineConn): void {
  conn[GUARD]?.flushed();
}

/** Lets the guards know when their sockets flush (once per engine.io server). */
export function watchFlushes(engine: { on(event: "flush", fn: (conn: EngineConn) => void): unknown }): void {
  engine.on("flush", flushed);
}

const sizeOf = (data: unknown): number => (typeof data === "string" ? data.length : ((data as { length?: number } | undefined)?.length ?? 0));

export class SocketGuard {
  private bucket: Bucket | undefined = undefined;
  private tripped: GuardReason | null = null;
  /** How many packets of engine.io's write buffer were counted, and their bytes (approximate: string length). */
  private countedPackets = 0;
  private countedBytes = 0;

  constructor(private readonly conn: EngineConn, private readonly policy: GuardPolicy) {
    conn[GUARD] = this;
    if (policy.limits.inbound.perMinute > 0) conn.on("packet", countInbound);
  }

  /** Stops watching (the Socket.IO socket closed; its connection may carry another). */
  dispose(): void {
    if (this.conn[GUARD] !== this) return;
    this.conn.off("packet", countInbound);
    this.conn[GUARD] = undefined;
  }

  /** The write buffer went to the transport (where `bufferedAmount` counts what it has not sent). */
  flushed(): void {
    this.countedPackets = 0;
    this.countedBytes = 0;
  }

  /** Bytes waiting to reach this client. */
  get queuedBytes(): number {
    // the buffer only grows between flushes: count the packets added since the last call
    const buffer = this.conn.writeBuffer;
    if (buffer.length < this.countedPackets) this.flushed(); // emptied on close, without a flush
    for (; this.countedPackets < buffer.length; this.countedPackets++) this.countedBytes += sizeOf(buffer[this.countedPackets]!.data);
    return this.countedBytes + (this.conn.transport?.socket?.bufferedAmount ?? 0);
  }

  /** Call after emitting to the socket: cuts it when its queue passed the limit. True when it was cut. */
  check(): boolean {
    if (this.tripped) return true;
    if (this.queuedBytes > this.policy.limits.maxQueuedBytes) this.trip("OUTBOUND_BUFFER_FULL");
    return this.tripped !== null;
  }

  /** A packet from the client: one token of its inbound rate. */
  inbound(): void {
    const r = take(this.bucket, this.policy.limits.inbound, Date.now());
    this.bucket = r.bucket;
    if (!r.ok) this.trip("INBOUND_FLOOD");
  }

  private trip(reason: GuardReason): void {
    if (this.tripped) return;
    this.tripped = reason;
    this.policy.onTrip(reason, this);
    // Drop what waits and free the memory now: close without flushing, and end the WebSocket at once
    // (a polite close would wait up to 30 s behind the unread bytes).
    const ws = this.conn.transport?.socket;
    this.conn.close(true);
    ws?.terminate?.();
  }
}
