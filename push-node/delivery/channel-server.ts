// The node's Socket.IO server, wired from the parts of delivery/: each handshake is checked
// (handshake.ts) and records its user here (user-links.ts) before the channel is acknowledged; a channel
// starts with a replay (replay.ts), then takes live messages in inbox order (live.ts, live-order.ts) put on
// its socket by fan-out.ts; its acks are batched (acks.ts). The bus hands each batch to `deliver`.
import { ServerResponse } from "node:http";
import type { Server, Socket } from "socket.io";
import type { Logger } from "pino";
import type { TokenIssuer } from "../auth/token.js";
import type { DeliverySink, Envelope } from "../ports.js";
import type { Metrics } from "../metrics.js";
import type { UserStore } from "../ports.js";
import type { AffinityNode } from "../../protocol/affinity-document.js";
import { AckBatcher } from "./acks.js";
import { frame, type Channel } from "./channel.js";
import { FanOut } from "./fan-out.js";
import { Handshakes, closeHandshake } from "./handshake.js";
import { LiveDelivery } from "./live.js";
import { Replay } from "./replay.js";
import { SocketGuard, watchFlushes, type EngineConn, type GuardPolicy } from "./socket-guard.js";
import { UserLinks, type UserLink } from "./user-links.js";

export type { Pushed } from "./channel.js";

export type ReloginReason = "shutdown" | "draining" | "reassigned";

export interface ChannelDeps {
  io: Server;
  nodeId: string;
  incarnation: string;
  tokens: TokenIssuer;
  store: UserStore;
  metrics: Metrics;
  log: Logger;
  /** The node a token names, to point a client at when it reached the wrong one. */
  findNode: (id: string) => AffinityNode | null;
  accepting: () => boolean;
  /** HERALD_MAX_SOCKET_BUFFER_BYTES, HERALD_MAX_SOCKETS_PER_USER (0 = no limit), HERALD_MAX_INBOUND_PER_SECOND (0 = no limit). */
  limits: { maxSocketBufferBytes: number; maxSocketsPerUser: number; maxInboundPerSecond: number };
}

export class ChannelServer implements DeliverySink {
  private readonly links: UserLinks;
  private readonly live: LiveDelivery;
  private readonly replay: Replay;
  private readonly acks: AckBatcher;
  private readonly handshakes: Handshakes;
  /** Open sockets (the heartbeat reports it every second: counted, not summed over the links). */
  private sockets = 0;
  /** Resolved when the last socket leaves (shutdown waits on it). */
  private noSocketsLeft: { promise: Promise<void>; resolve: () => void } | null = null;
  private readonly deps: ChannelDeps;
  /** Listeners shared by every socket (`this` is the socket): no closures per connection. */
  private readonly onDisconnect: (this: Socket) => void;
  private readonly onAck: (this: Socket, p: unknown, done?: unknown) => void;
  /** The per-socket limits and what a cut does, shared by every socket's guard. */
  private readonly guardPolicy: GuardPolicy;

  constructor(deps: ChannelDeps) {
    this.deps = deps;
    const { io, nodeId, incarnation, tokens, store, metrics, log, findNode, accepting, limits } = deps;
    const fanOut = new FanOut(metrics);
    this.live = new LiveDelivery(store, fanOut, log);
    this.links = new UserLinks({ nodeId, incarnation, store, live: this.live, metrics, log });
    this.replay = new Replay(store, fanOut, metrics, limits.maxSocketBufferBytes);
    this.acks = new AckBatcher(store, log);
    this.handshakes = new Handshakes({ nodeId, tokens, links: this.links, findNode, accepting, maxSocketsPerUser: limits.maxSocketsPerUser, metrics, log });
    this.guardPolicy = {
      limits: { maxQueuedBytes: limits.maxSocketBufferBytes, inbound: { perMinute: limits.maxInboundPerSecond * 60, burst: limits.maxInboundPerSecond * 2 } },
      onTrip: (reason, guard) => {
        metrics.refusals.inc({ limit: reason === "OUTBOUND_BUFFER_FULL" ? "socket_buffer" : "inbound_flood" });
        log.info({ reason, queuedBytes: guard.queuedBytes }, "closed a socket past its limit; its messages wait in the inbox");
      },
    };
    watchFlushes(io.engine as unknown as Parameters<typeof watchFlushes>[0]);
    const server = this;
    this.onDisconnect = function () {
      server.disconnected(this, this.data as Channel);
    };
    // With a callback, the client learns its ack arrived: Socket.IO drops an event that reaches the server in
    // the same read as the client's disconnect, so a client sends its last ack this way before closing.
    const acks = this.acks;
    this.onAck = function (p, done) {
      acks.acked(this.data as Channel, p);
      if (typeof done === "function") done();
    };
    // A socket need not keep its HTTP upgrade request alive (Socket.IO's memory tuning). Engine.IO also keeps
    // it through the response object it gives middlewares on a WebSocket upgrade (a "close" listener on the TCP
    // socket holds that object), so the handshake's response lets go of it too once the connection is made.
    const upgrades = new WeakMap<object, { req: unknown }>();
    io.engine.use((req: object, res: { req?: unknown }, next: () => void) => {
      if (!(res instanceof ServerResponse)) upgrades.set(req, res as { req: unknown });
      next();
    });
    io.engine.on("connection", (raw: { request: object | null }) => {
      const res = raw.request && upgrades.get(raw.request);
      if (res) res.req = null;
      raw.request = null;
    });
    io.use((socket, next) => void this.handshakes.check(socket).then(() => next(), (err: Error) => next(err)));
    io.on("connection", (socket) => this.connected(socket));
  }

  /** Users held here and their socket counts. */
  get userCount(): number {
    return this.links.size;
  }
  get socketCount(): number {
    return this.sockets;
  }
  users(): IterableIterator<string> {
    return this.links.users();
  }

  /** Resolves once no socket is open here (at once when none is). */
  noSockets(): Promise<void> {
    if (this.sockets === 0) return Promise.resolve();
    if (!this.noSocketsLeft) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.noSocketsLeft = { promise, resolve };
    }
    return this.noSocketsLeft.promise;
  }

  /** Closes every socket of these users held here (POST /v1/disconnect reaches the other nodes through the adapter). */
  disconnectUsers(users: Iterable<string>): number {
    let n = 0;
    for (const user of users) {
      const link = this.links.get(user);
      if (!link) continue;
      for (const s of [...link.sockets]) {
        s.disconnect(true);
        n++;
      }
    }
    return n;
  }

  /** Asks every socket of these users (or all, when users is undefined) to log in again. */
  relogin(reason: ReloginReason, users?: Iterable<string>, spreadMs = 0): number {
    let n = 0;
    const pick = users ? [...users].map((u) => this.links.get(u)).filter((l): l is UserLink => !!l) : this.links.values();
    for (const link of pick)
      for (const s of link.sockets) {
        s.emit("relogin", { reason, delayMs: Math.floor(Math.random() * spreadMs) });
        n++;
      }
    return n;
  }

  /** Hands a batch from the bus to the sockets of the addressees held here. */
  deliver(envelopes: Envelope[]): void {
    for (const env of envelopes)
      for (const to of env.to) {
        const link = this.links.get(to.user);
        if (!link) continue; // the user left this node since the publisher read the presence
        this.live.offer(to.user, link, frame(env.message, to.epoch, to.offset, to.prev));
      }
  }

  /** Redis came back: record the presence of every user held here again and push what their inboxes got meanwhile. */
  reattach(): Promise<void> {
    return this.links.reattach();
  }

  private connected(socket: Socket): void {
    const { metrics, log } = this.deps;
    const channel = socket.data as Channel;
    const link = channel.link;
    metrics.handshakes.inc({ result: "ok" });
    closeHandshake(channel);
    channel.guard = new SocketGuard(socket.conn as unknown as EngineConn, this.guardPolicy);
    link.sockets.add(socket);
    this.sockets++;
    metrics.sockets.inc();
    socket.on("disconnect", this.onDisconnect);
    socket.on("ack", this.onAck);
    void this.replay.start(socket, channel, link).catch((err: Error) => {
      log.warn({ err: err.message }, "could not start a channel; closing it");
      socket.disconnect(true);
    });
  }

  private disconnected(socket: Socket, channel: Channel): void {
    const link = channel.link;
    channel.guard!.dispose();
    this.acks.flush(channel);
    this.deps.metrics.sockets.dec();
    link.sockets.delete(socket);
    this.sockets--;
    this.links.release(channel.user, link);
    if (this.sockets === 0 && this.noSocketsLeft) {
      this.noSocketsLeft.resolve();
      this.noSocketsLeft = null;
    }
  }
}
