// Per-socket protection against slow and greedy clients: how many bytes wait to be written to a socket
// (past a limit, the socket is cut and its messages wait in the inbox for replay), and how many packets
// a client sends (past a rate, it is cut too). O(1) per packet: counters kept from engine.io's events.
import { take, type Bucket, type Rate } from "../limits/token-bucket.js";

/** The parts of an engine.io socket this reads (engine.io does not export the type with its transport). */
export interface EngineConn {
  on(event: "packetCreate" | "packet" | "flush", fn: (packet: { data?: unknown }) => void): unknown;
  off(event: "packetCreate" | "packet" | "flush", fn: (packet: { data?: unknown }) => void): unknown;
  transport?: { name?: string; socket?: { bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): void;
}

export type GuardReason = "OUTBOUND_BUFFER_FULL" | "INBOUND_FLOOD";

export interface GuardLimits {
  /** Bytes queued for the socket (engine.io's write buffer + the WebSocket's unsent bytes). */
  maxQueuedBytes: number;
  /** Packets a client may send: a token bucket (perMinute 0 = off). */
  inbound: Rate;
}

export class SocketGuard {
  /** Encoded bytes handed to engine.io and not yet passed to the transport (approximate: string length). */
  private unflushed = 0;
  private bucket: Bucket | undefined;
  private tripped: GuardReason | null = null;

  constructor(private readonly conn: EngineConn, private readonly limits: GuardLimits, private readonly onTrip: (reason: GuardReason) => void, private readonly clock: () => number = Date.now) {
    conn.on("packetCreate", this.onCreate);
    conn.on("flush", this.onFlush);
    if (limits.inbound.perMinute > 0) conn.on("packet", this.onPacket);
  }

  private readonly onCreate = (p: { data?: unknown }) => {
    this.unflushed += typeof p.data === "string" ? p.data.length : (p.data as { length?: number } | undefined)?.length ?? 0;
  };
  private readonly onFlush = () => {
    this.unflushed = 0;
  };
  private readonly onPacket = () => {
    const r = take(this.bucket, this.limits.inbound, this.clock());
    this.bucket = r.bucket;
    if (!r.ok) this.trip("INBOUND_FLOOD");
  };

  /** Stops watching (the Socket.IO socket closed; its connection may carry another). */
  dispose(): void {
    this.conn.off("packetCreate", this.onCreate);
    this.conn.off("flush", this.onFlush);
    this.conn.off("packet", this.onPacket);
  }

  /** Bytes waiting to reach this client. */
  get queuedBytes(): number {
    return this.unflushed + (this.conn.transport?.socket?.bufferedAmount ?? 0);
  }

  /** Call after emitting to the socket: cuts it when its queue passed the limit. True when it was cut. */
  check(): boolean {
    if (this.tripped) return true;
    if (this.queuedBytes > this.limits.maxQueuedBytes) this.trip("OUTBOUND_BUFFER_FULL");
    return this.tripped !== null;
  }

  get reason(): GuardReason | null {
    return this.tripped;
  }

  private trip(reason: GuardReason): void {
    if (this.tripped) return;
    this.tripped = reason;
    this.onTrip(reason);
    // Drop what waits and free the memory now: close without flushing, and end the WebSocket at once
    // (a polite close would wait up to 30 s behind the unread bytes).
    const ws = this.conn.transport?.socket;
    this.conn.close(true);
    ws?.terminate?.();
  }
}
