// The node's Socket.IO server. It checks each handshake's access token before it
// records the user as connected, and hands each message it receives to the sockets of the addressees
// it holds, in inbox order.
import { ServerResponse } from "node:http";
import type { Server, Socket } from "socket.io";
import type { Logger } from "pino";
import { z } from "zod";
import type { TokenIssuer } from "../auth/token.js";
import type { Envelope } from "../bus/node-bus.js";
import type { Metrics } from "../metrics.js";
import type { InboxEntry, StoredMessage, UserStore } from "../store/user-store.js";
import { START, compareOffsets, type Position } from "../../protocol/positions.js";
import { resumeFrom, type LoginPosition } from "./resume.js";
import { SocketGuard, type EngineConn } from "./socket-guard.js";
import { giveUp, newOrder, offer, type OrderState } from "./live-order.js";
import type { AffinityNode } from "../../protocol/affinity-document.js";

/** What a client receives in a `message` event. */
export interface Pushed extends StoredMessage {
  epoch: string;
  offset: string;
  prev: string;
}

export type ReloginReason = "shutdown" | "draining" | "reassigned";

interface SocketState {
  user: string;
  link: Link;
  device: string | null;
  /** The latest ack not yet written. */
  ack: Position | null;
  live: boolean;
  epoch: string | null;
  last: string;
  queue: Pushed[];
  overflow: boolean;
  /** Bytes queued for the socket and packets it sends, against the per-socket limits. */
  guard: SocketGuard;
}

interface Link {
  sockets: Set<Socket>;
  /** Handshakes that recorded the user and whose socket has not connected (or failed) yet. */
  pending: number;
  order: OrderState<Pushed> | null;
  early: Pushed[];
  attached: Promise<void>;
  fillTimer: NodeJS.Timeout | null;
}

const since = z.strictObject({ epoch: z.string().min(1).max(64), offset: z.string().regex(/^\d{1,15}-\d{1,15}$/) });
const deviceId = z.string().min(1).max(64).regex(/^[A-Za-z0-9._:-]+$/);
/** The login position a token carries (absent in tokens of older nodes: then rule 2 is live only). */
const loginPosition = z.object({ epoch: z.string().min(1).max(64).nullable(), offset: z.string().regex(/^\d{1,15}-\d{1,15}$/) });
const PAGE = 200;
const QUEUE_LIMIT = 2000;
const FILL_DELAY_MS = 100;
const ACK_FLUSH_MS = 50;

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

export class ChannelServer {
  private readonly links = new Map<string, Link>();
  /** Open sockets (the heartbeat reports it every second: counted, not summed over the links). */
  private sockets = 0;
  private readonly d: ChannelDeps;
  private readonly deliveredLive: { inc(n?: number): void };
  private readonly deliveredReplay: { inc(n?: number): void };
  /** Sockets with an ack not yet written; one timer writes them all every ACK_FLUSH_MS. */
  private readonly pendingAcks = new Set<SocketState>();
  private ackTimer: NodeJS.Timeout | null = null;
  /** Listeners shared by every socket (`this` is the socket): no closures per connection. */
  private readonly onDisconnect: (this: Socket) => void;
  private readonly onAck: (this: Socket, p: unknown, done?: unknown) => void;

  constructor(deps: ChannelDeps) {
    this.d = deps;
    this.deliveredLive = deps.metrics.delivered.labels({ mode: "live" });
    this.deliveredReplay = deps.metrics.delivered.labels({ mode: "replay" });
    const server = this;
    this.onDisconnect = function () {
      server.disconnected(this, this.data as SocketState);
    };
    // With a callback, the client learns its ack arrived: Socket.IO drops an event that reaches the server in
    // the same read as the client's disconnect, so a client sends its last ack this way before closing.
    this.onAck = function (p, done) {
      server.acked(this.data as SocketState, p);
      if (typeof done === "function") done();
    };
    const { io } = deps;
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
    io.use((socket, next) => void this.handshake(socket).then(() => next(), (err: Error) => next(err)));
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
    return this.links.keys();
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
    const pick = users ? [...users].map((u) => this.links.get(u)).filter((l): l is Link => !!l) : this.links.values();
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
        this.offerLive(to.user, link, pushed(env.message, to.epoch, to.offset, to.prev));
      }
  }

  private async handshake(socket: Socket): Promise<void> {
    const fail = (code: string, message: string, extra: Record<string, unknown> = {}) => {
      this.d.metrics.handshakes.inc({ result: code });
      const err = new Error(message) as Error & { data: unknown };
      err.data = { code, ...extra };
      return err;
    };
    if (!this.d.accepting()) throw fail("NODE_UNAVAILABLE", "this node is shutting down; log in again");
    const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    const checked = this.d.tokens.check(auth.token);
    if (!checked.ok) throw fail(checked.code, checked.message);
    delete auth.token; // Socket.IO keeps the handshake for the socket's life; the token is not needed after this check
    if (checked.claims.node !== this.d.nodeId) {
      const node = this.d.findNode(checked.claims.node);
      throw fail("WRONG_NODE", `this token is for node ${checked.claims.node}`, { node: node ? { id: node.id, url: node.url, path: node.path } : null });
    }
    let position: Position | null = null;
    if (auth.since !== undefined && auth.since !== null) {
      const p = since.safeParse(auth.since);
      if (!p.success) throw fail("INVALID_HANDSHAKE", 'auth.since must be {"epoch": "...", "offset": "<ms>-<seq>"}');
      position = p.data;
    }
    let device: string | null = null;
    if (auth.deviceId !== undefined && auth.deviceId !== null) {
      const p = deviceId.safeParse(auth.deviceId);
      if (!p.success) throw fail("INVALID_HANDSHAKE", "auth.deviceId must be 1-64 letters, digits, '.', '_', ':' or '-'");
      device = p.data;
    }
    // Record the user as connected (presence) before the channel is acknowledged, so that a
    // message published once the client sees "connect" is routed here.
    const user = checked.claims.user;
    // The newest socket is refused, not the oldest evicted: N+1 tabs evicting each other would never settle.
    const max = this.d.limits.maxSocketsPerUser;
    const held = this.links.get(user);
    if (max > 0 && held && held.sockets.size + held.pending >= max) {
      this.d.metrics.refusals.inc({ limit: "sockets_per_user" });
      throw fail("TOO_MANY_SOCKETS", `this user already has ${max} channels open on this node (HERALD_MAX_SOCKETS_PER_USER); close one or retry later`);
    }
    const login = loginPosition.safeParse(checked.claims.inbox);
    const link = this.linkFor(user);
    link.pending++;
    try {
      await link.attached;
    } catch (err) {
      link.pending--;
      this.d.log.warn({ err: (err as Error).message }, "could not record a user's presence");
      throw fail("STORE_UNAVAILABLE", "the node cannot reach its store; retry shortly");
    }
    // Socket.IO connects the socket in a later tick, or not at all if the client left meanwhile;
    // whichever comes first settles this handshake's hold on the link.
    const hold = { settled: false };
    socket.data = { user, since: position, device, login: login.success ? login.data : null, link, hold };
    setImmediate(() => {
      if (hold.settled) return;
      hold.settled = true;
      link.pending--;
      this.release(user, link);
    });
  }

  private linkFor(user: string): Link {
    const existing = this.links.get(user);
    if (existing) return existing;
    const created: Link = { sockets: new Set(), pending: 0, order: null, early: [], attached: Promise.resolve(), fillTimer: null };
    created.attached = this.attach(user, created).catch((err: Error) => {
      if (this.links.get(user) === created) this.links.delete(user);
      this.d.metrics.users.set(this.links.size);
      throw err;
    });
    this.links.set(user, created);
    this.d.metrics.users.set(this.links.size);
    return created;
  }

  private connected(socket: Socket): void {
    const { user, since: position, device, login, link, hold } = socket.data as { user: string; since: Position | null; device: string | null; login: LoginPosition | null; link: Link; hold: { settled: boolean } };
    this.d.metrics.handshakes.inc({ result: "ok" });
    if (!hold.settled) {
      hold.settled = true;
      link.pending--;
    }
    const { maxSocketBufferBytes, maxInboundPerSecond } = this.d.limits;
    const guard = new SocketGuard(socket.conn as unknown as EngineConn, { maxQueuedBytes: maxSocketBufferBytes, inbound: { perMinute: maxInboundPerSecond * 60, burst: maxInboundPerSecond * 2 } }, (reason) => {
      this.d.metrics.refusals.inc({ limit: reason === "OUTBOUND_BUFFER_FULL" ? "socket_buffer" : "inbound_flood" });
      this.d.log.info({ reason, queuedBytes: guard.queuedBytes }, "closed a socket past its limit; its messages wait in the inbox");
    });
    const state: SocketState = { user, link, device, ack: null, live: false, epoch: null, last: START, queue: [], overflow: false, guard };
    socket.data = state;
    link.sockets.add(socket);
    this.sockets++;
    this.d.metrics.sockets.inc();
    socket.on("disconnect", this.onDisconnect);
    socket.on("ack", this.onAck);
    void this.start(socket, state, link, position, login).catch((err: Error) => {
      this.d.log.warn({ err: err.message }, "could not start a channel; closing it");
      socket.disconnect(true);
    });
  }

  private async attach(user: string, link: Link): Promise<void> {
    const head = await this.d.store.attach(user, this.d.nodeId, this.d.incarnation);
    link.order = newOrder(head.epoch, head.last);
    for (const p of link.early.splice(0)) this.offerLive(user, link, p);
  }

  private async start(socket: Socket, state: SocketState, link: Link, given: Position | null, login: LoginPosition | null): Promise<void> {
    const order = link.order!;
    state.epoch = order.epoch;
    state.last = order.tail;
    const acks = !given && state.device !== null ? await this.d.store.acks(state.user) : new Map<string, Position>();
    const position = resumeFrom(given, state.device, acks, order.epoch, login);
    if (!position) {
      this.goLive(socket, state);
      return;
    }
    const sameEpoch = position.epoch === order.epoch;
    let after = sameEpoch ? position.offset : START;
    // At the head already (the common case after a login: nothing was published since): nothing to read.
    const first = sameEpoch && after === order.tail ? [] : await this.d.store.read(state.user, after, PAGE);
    const recovered = sameEpoch && (first.length ? first[0]!.prev === position.offset : order.tail === position.offset);
    const reason = recovered ? undefined : sameEpoch ? "GAP" : "EPOCH_CHANGED";
    if (reason) this.d.metrics.replayGaps.inc({ reason });
    socket.emit("recovery", { recovered, epoch: order.epoch, reason });
    state.epoch = order.epoch;
    state.last = after;
    let page: InboxEntry[] = first;
    for (;;) {
      for (const e of page) {
        this.emit(socket, state, pushed(e.message, order.epoch!, e.offset, e.prev), "replay");
        // A replay waits for a slow reader instead of filling its buffer: at most half the limit queued.
        if (state.guard.queuedBytes > this.d.limits.maxSocketBufferBytes / 2) {
          await roomFor(socket, state.guard, this.d.limits.maxSocketBufferBytes / 4);
          if (!socket.connected) return;
        }
      }
      if (page.length === PAGE || state.overflow) {
        state.overflow = false;
        state.queue = [];
        await drained(socket);
        if (!socket.connected) return;
        after = state.last;
        page = await this.d.store.read(state.user, after, PAGE);
        continue;
      }
      break;
    }
    this.goLive(socket, state);
  }

  private goLive(socket: Socket, state: SocketState): void {
    state.live = true;
    for (const p of state.queue.splice(0)) this.emit(socket, state, p, "live");
  }

  private offerLive(user: string, link: Link, pushed: Pushed): void {
    if (!link.order) {
      link.early.push(pushed);
      return;
    }
    for (const p of offer(link.order, { epoch: pushed.epoch, offset: pushed.offset, prev: pushed.prev, item: pushed })) this.toSockets(link, p);
    if (link.order.held.length && !link.fillTimer) link.fillTimer = setTimeout(() => void this.fill(user, link), FILL_DELAY_MS);
  }

  /** A hole stayed open: read what is missing from the inbox, then give up on what cannot be found. */
  private async fill(user: string, link: Link): Promise<void> {
    link.fillTimer = null;
    const order = link.order!;
    if (!order.held.length || this.links.get(user) !== link) return;
    try {
      const entries = await this.d.store.read(user, order.tail, order.held.length + PAGE);
      for (const e of entries) {
        const p = pushed(e.message, order.epoch!, e.offset, e.prev);
        for (const r of offer(order, { epoch: p.epoch, offset: p.offset, prev: p.prev, item: p })) this.toSockets(link, r);
      }
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message }, "could not fill a hole from the inbox");
    }
    for (const p of giveUp(order)) this.toSockets(link, p);
  }

  /**
   * Redis came back (a reconnect, maybe a restart that lost data): record again that this node holds its
   * users (presence may be gone, and without it nothing is pushed here), then push what their inboxes got
   * meanwhile. A new epoch goes out from its start; the sockets' own dedupe drops what they already had.
   */
  async reattach(): Promise<void> {
    const held = [...this.links].filter(([, link]) => link.order !== null);
    for (let i = 0; i < held.length; i += 100)
      await Promise.all(held.slice(i, i + 100).map(([user, link]) => this.catchUp(user, link).catch((err: Error) => this.d.log.warn({ err: err.message }, "could not re-attach a user"))));
  }

  private async catchUp(user: string, link: Link): Promise<void> {
    const head = await this.d.store.attach(user, this.d.nodeId, this.d.incarnation);
    const order = link.order!;
    if (head.epoch === null || (head.epoch === order.epoch && compareOffsets(head.last, order.tail) <= 0)) return;
    let after = head.epoch === order.epoch ? order.tail : START;
    for (;;) {
      const page = await this.d.store.read(user, after, PAGE);
      for (const e of page) {
        const p = pushed(e.message, head.epoch, e.offset, e.prev);
        for (const r of offer(order, { epoch: p.epoch, offset: p.offset, prev: p.prev, item: p })) this.toSockets(link, r);
      }
      if (page.length < PAGE || this.links.get(user) !== link) return;
      after = page[page.length - 1]!.offset;
    }
  }

  /**
   * A live message to a user's sockets: straight to the socket when one takes it (the common case),
   * else encoded once for all of them (a local Socket.IO broadcast to their ids).
   */
  private toSockets(link: Link, p: Pushed): void {
    let one: Socket | null = null;
    let more: string[] | null = null;
    for (const s of link.sockets) {
      if (!this.admit(s.data as SocketState, p, "live")) continue;
      if (one === null) one = s;
      else (more ??= [one.id]).push(s.id);
    }
    if (one === null) return;
    if (more) this.d.io.local.to(more).emit("message", p);
    else one.emit("message", p);
    // a live message cannot wait: a socket whose queue passed its limit is cut (its inbox keeps the rest)
    for (const s of link.sockets) (s.data as SocketState).guard.check();
    const n = more ? more.length : 1;
    this.deliveredLive.inc(n);
    const latency = Math.max(0, Date.now() - p.ts) / 1000;
    for (let i = 0; i < n; i++) this.d.metrics.latency.observe(latency);
  }

  private emit(socket: Socket, state: SocketState, p: Pushed, mode: "live" | "replay"): void {
    if (!this.admit(state, p, mode)) return;
    socket.emit("message", p);
    if (mode === "live") state.guard.check();
    (mode === "live" ? this.deliveredLive : this.deliveredReplay).inc();
    if (mode === "live") this.d.metrics.latency.observe(Math.max(0, Date.now() - p.ts) / 1000);
  }

  /** Whether the socket takes the message now: a socket still replaying queues live ones, and none gets a repeat. */
  private admit(state: SocketState, p: Pushed, mode: "live" | "replay"): boolean {
    if (mode === "live" && !state.live) {
      if (state.queue.length >= QUEUE_LIMIT) state.overflow = true;
      else state.queue.push(p);
      return false;
    }
    if (p.epoch === state.epoch && compareOffsets(p.offset, state.last) <= 0) return false;
    state.epoch = p.epoch;
    state.last = p.offset;
    return true;
  }

  /** A cumulative ack from the client; the latest per socket is written within ACK_FLUSH_MS (one timer for the node). */
  private acked(state: SocketState, payload: unknown): void {
    const p = since.safeParse(payload);
    if (!p.success || state.device === null) return;
    state.ack = p.data;
    this.pendingAcks.add(state);
    this.ackTimer ??= setTimeout(() => this.flushAcks(), ACK_FLUSH_MS);
  }

  private flushAcks(): void {
    this.ackTimer = null;
    for (const state of this.pendingAcks) this.flushAck(state);
  }

  private flushAck(state: SocketState): void {
    this.pendingAcks.delete(state);
    const ack = state.ack;
    if (!ack || state.device === null) return;
    state.ack = null;
    this.d.store.ack(state.user, state.device, ack).catch((err: Error) => this.d.log.warn({ err: err.message }, "could not store an ack"));
  }

  private disconnected(socket: Socket, state: SocketState): void {
    const link = state.link;
    state.guard.dispose();
    this.flushAck(state);
    this.d.metrics.sockets.dec();
    link.sockets.delete(socket);
    this.sockets--;
    this.release(state.user, link);
  }

  /** Forgets a link that holds no socket and no handshake in progress, and removes the user's presence. */
  private release(user: string, link: Link): void {
    if (link.sockets.size || link.pending > 0 || this.links.get(user) !== link) return;
    this.links.delete(user);
    if (link.fillTimer) clearTimeout(link.fillTimer);
    this.d.metrics.users.set(this.links.size);
    // Only if the user has not come back meanwhile: a new link's presence (same node, same incarnation)
    // was written after ours, and removing it would stop live delivery to the returning user.
    void link.attached
      .then(() => (this.links.has(user) ? undefined : this.d.store.detach(user, this.d.nodeId, this.d.incarnation)))
      .catch((err: Error) => this.d.log.warn({ err: err.message }, "could not remove a user's presence"));
  }
}

/** What a socket receives for a stored message at its place in one user's inbox. */
function pushed(m: StoredMessage, epoch: string, offset: string, prev: string): Pushed {
  return { ...m, epoch, offset, prev };
}

/** Resolves when the socket's transport has flushed what was written (bounded memory during replay). */
/** Resolves once no more than `bytes` wait to reach the socket, or it closed. */
async function roomFor(socket: Socket, guard: SocketGuard, bytes: number): Promise<void> {
  while (socket.connected && guard.queuedBytes > bytes) await new Promise((r) => setTimeout(r, 25));
}

function drained(socket: Socket): Promise<void> {
  const conn = socket.conn as unknown as { writeBuffer: unknown[]; once(e: string, f: () => void): void; readyState: string };
  if (!conn.writeBuffer.length || conn.readyState !== "open") return Promise.resolve();
  return new Promise((resolve) => {
    conn.once("drain", resolve);
    conn.once("close", resolve);
  });
}
