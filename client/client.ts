// The Herald client: log in → connect to the assigned node → process each message once, in order →
// acknowledge → on any loss of the channel, log in again, reconnect with backoff and resume from the last
// processed position. Decisions live in small pure modules (position, backoff, login's sessionTimes); this
// file is the I/O around them. Runs in Node and browsers: socket.io-client and fetch only.
import { io, type Socket } from "socket.io-client";
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from "./backoff.js";
import { Emitter } from "./emitter.js";
import { HeraldError, postLogin, type LoginCredentials, type NodeAddress, type Session } from "./login.js";
import { classify, compareOffsets, isPosition, type GapReason, type Position } from "./position.js";
import { memoryStore, type PositionStore } from "./stores.js";

/** A message as the application sees it. `epoch`/`offset` are its position in the user's inbox. */
export interface HeraldMessage<T = unknown> {
  id: string;
  event: string;
  data: T;
  /** When Herald accepted it (ms since the Unix epoch). */
  ts: number;
  epoch: string;
  offset: string;
  /** The offset of the message before it in the inbox ("0-0" for the first of an epoch). */
  prev: string;
}

/** Told before the first message after a hole: the application may have missed messages and should resynchronise. */
export interface GapEvent {
  reason: GapReason;
  /** The last position processed before the hole (null when this client had none). */
  from: Position | null;
  /** The inbox epoch from which messages continue (null when the inbox does not exist right now). */
  epoch: string | null;
  /** "recovery": the node said so when the channel opened; "message": a message did not follow the last one. */
  detectedBy: "recovery" | "message";
}

/** `failed`: the server refused in a way retrying cannot fix (a 4xx login answer other than 401/408/429); the
 * `error` event carried its code; the client stopped and does nothing more until close(). */
export type ClientState = "idle" | "connecting" | "connected" | "reconnecting" | "failed" | "closed";

export interface HeraldClientEvents<T> {
  /** Each message once, in inbox order, after `onMessage` (if given) has processed it. */
  message: (m: HeraldMessage<T>) => void;
  gap: (g: GapEvent) => void;
  /** A login succeeded (first one, a renewal before the token expires, or a move). */
  login: (info: { node: NodeAddress; userId: string; expiresAt: number }) => void;
  connected: (info: { node: NodeAddress; userId: string; since: Position | null }) => void;
  disconnected: (info: { reason: string; retryInMs: number }) => void;
  state: (s: ClientState) => void;
  error: (e: HeraldError) => void;
}

export interface HeraldClientOptions<T> {
  /** Base URL where POST /v1/login is served (any node, or the load balancer in front of them). */
  url: string;
  /** Called before every login (first one, token refresh, moves): returns the login body (and headers). */
  credentials: () => LoginCredentials | Promise<LoginCredentials>;
  /** Names this device to the server, which keeps one acknowledged position per device. Default "default". */
  deviceId?: string;
  /** Where the last processed position survives restarts. Default: memory (this process only). */
  store?: PositionStore;
  /**
   * Processes a message. Awaited, one message at a time, in order; the position advances (and is saved)
   * only after it returns. If it throws, the client reports an error, reconnects and gets the message again.
   */
  onMessage?: (m: HeraldMessage<T>) => void | Promise<void>;
  /** Acknowledge at most this long after processing a message (ms). Default 100. */
  ackDelayMs?: number;
  /** ...or as soon as this many messages are processed and unacknowledged. Default 100. */
  ackEvery?: number;
  backoff?: Partial<BackoffOptions>;
  /** socket.io-client transports. Default ["websocket"]. */
  transports?: Array<"websocket" | "polling" | "webtransport">;
  connectTimeoutMs?: number;
  loginTimeoutMs?: number;
  fetch?: typeof fetch;
}

export interface ClientStats {
  /** Messages handed to the application. */
  delivered: number;
  /** Messages dropped because they were at or before the processed position (replays, overlaps). */
  duplicatesDropped: number;
  gaps: number;
  /** Reconnections made to refill a hole from the inbox before reporting it. */
  resyncs: number;
  /** Successful channel openings. */
  connections: number;
  logins: number;
}

interface Recovery {
  recovered: boolean;
  epoch: string | null;
  reason?: GapReason;
}

type Item = { gen: number } & ({ kind: "message"; m: HeraldMessage<unknown> } | { kind: "recovery"; r: Recovery });

interface Outcome {
  reason: string;
  /** Forget the token: the next attempt logs in again (and may be sent to another node). */
  dropSession: boolean;
  /** Retry at once the first time (the fix is a new login, not waiting). */
  immediate?: boolean;
  /** A delay the server asked for, instead of the backoff. */
  delayMs?: number;
}

const HARMLESS_CONNECT_CODES = new Set(["WRONG_NODE", "TOKEN_EXPIRED", "NODE_UNAVAILABLE"]);
const MAX_SERVER_DELAY_MS = 60_000;
const LAST_ACK_TIMEOUT_MS = 1000;

type AnyTimer = ReturnType<typeof setTimeout>;

export class HeraldClient<T = unknown> extends Emitter<HeraldClientEvents<T>> {
  readonly stats: ClientStats = { delivered: 0, duplicatesDropped: 0, gaps: 0, resyncs: 0, connections: 0, logins: 0 };
  private readonly opts: Required<Pick<HeraldClientOptions<T>, "ackDelayMs" | "ackEvery" | "connectTimeoutMs" | "loginTimeoutMs" | "deviceId">> & HeraldClientOptions<T>;
  private readonly store: PositionStore;
  private readonly backoff: BackoffOptions;
  private readonly fetchFn: typeof fetch;

  private _state: ClientState = "idle";
  private _position: Position | null = null;
  /** The gap last reported and not yet followed by a message (so one hole is reported once). */
  private openGap: { reason: GapReason; epoch: string | null } | null = null;
  private session: Session | null = null;
  private socket: Socket | null = null;
  /** Generation of the current channel: items from an earlier channel are dropped unprocessed. */
  private gen = 0;
  private queue: Item[] = [];
  private draining: Promise<void> | null = null;
  private pumping = false;
  private unacked = 0;
  private ackTimer: AnyTimer | null = null;
  private refreshTimer: AnyTimer | null = null;
  private sleepTimer: AnyTimer | null = null;
  private moveTimer: AnyTimer | null = null;
  private wake: (() => void) | null = null;
  private abortChannel: ((o: Outcome) => void) | null = null;
  private readonly lifetime = new AbortController();
  private running: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private shut = false;
  /** True while application code (onMessage, "message" listeners) runs for a message. */
  private inHandler = false;
  /** onMessage failures in a row: the redelivery backs off like a reconnection. */
  private handlerFailures = 0;
  /** The position from which a replay was last requested because of a hole (one request per position). */
  private resyncedFrom: string | null = null;

  constructor(options: HeraldClientOptions<T>) {
    super();
    if (!options.url) throw new TypeError("HeraldClient: url is required");
    if (typeof options.credentials !== "function") throw new TypeError("HeraldClient: credentials must be a function returning {body, headers?}");
    this.opts = { ackDelayMs: 100, ackEvery: 100, connectTimeoutMs: 10_000, loginTimeoutMs: 10_000, deviceId: "default", ...options };
    this.store = options.store ?? memoryStore();
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.fetchFn = options.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  }

  get state(): ClientState {
    return this._state;
  }
  /** The last processed position (null before the first message). */
  get position(): Position | null {
    return this._position ? { ...this._position } : null;
  }
  /** The node the client is assigned to right now, if logged in. */
  get node(): NodeAddress | null {
    return this.session ? { ...this.session.node } : null;
  }

  /** Loads the stored position, logs in and connects; keeps the channel up until close(). */
  start(): this {
    if (this.running || this.closing) return this;
    this.running = this.run().catch((err: unknown) => this.report(new HeraldError("INTERNAL", `client loop stopped: ${(err as Error).message}`, false)));
    return this;
  }

  /**
   * Stops for good: lets the message being processed finish, sends a last ack, closes the channel, clears
   * every timer. Resolves when nothing is left running. (Called from inside onMessage or a "message"
   * listener, it does not wait for that message, whose ack then is not sent; its position is still saved.)
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const fromHandler = this.inHandler;
    this.shut = true;
    this.setState("closed");
    this.lifetime.abort();
    this.gen++; // nothing more is processed
    this.queue = [];
    this.clearTimer("refreshTimer");
    this.clearTimer("sleepTimer");
    this.clearTimer("moveTimer");
    this.wake?.();
    this.closing = (async () => {
      if (!fromHandler) await this.idle();
      await this.lastAck();
      this.abortChannel?.({ reason: "closed", dropSession: false });
      await this.running;
    })();
    return this.closing;
  }

  private get closed(): boolean {
    return this.shut;
  }

  // ---- connection loop -------------------------------------------------------------------------

  private async run(): Promise<void> {
    try {
      const loaded = await this.store.load();
      if (this._position === null && isPosition(loaded)) this._position = { epoch: loaded.epoch, offset: loaded.offset };
    } catch (err) {
      this.report(new HeraldError("STORE_FAILED", `could not load the stored position: ${(err as Error).message}`, false));
    }
    let attempt = 0;
    while (!this.closed) {
      let outcome: Outcome;
      let opened = false;
      try {
        if (!this.session || Date.now() >= this.session.expiresAt - 1000) {
          this.setState(this.stats.connections ? "reconnecting" : "connecting");
          this.session = await this.login();
        }
        const r = await this.openChannel(this.session);
        outcome = r.outcome;
        opened = r.opened;
      } catch (err) {
        const e = err instanceof HeraldError ? err : new HeraldError("INTERNAL", (err as Error).message, true);
        if (!this.closed) this.report(e);
        if (!e.retryable && e.status !== undefined && e.status >= 400 && e.status < 500) {
          // The server refused the request itself (400 INVALID_LOGIN, 403, ...): the same credentials would be refused again.
          this.session = null;
          if (!this.closed) this.setState("failed");
          break;
        }
        outcome = { reason: e.code, dropSession: true, delayMs: e.retryAfterMs === undefined ? undefined : Math.min(e.retryAfterMs, MAX_SERVER_DELAY_MS) };
      }
      if (this.closed) break;
      if (opened) attempt = 0;
      if (outcome.dropSession) this.session = null;
      const delay = outcome.delayMs ?? (outcome.immediate && attempt === 0 ? 0 : backoffDelay(attempt, this.backoff));
      attempt++;
      this.setState("reconnecting");
      this.emitSafely("disconnected", { reason: outcome.reason, retryInMs: delay });
      await this.sleep(delay);
    }
  }

  private async login(): Promise<Session> {
    let creds: LoginCredentials;
    try {
      creds = await this.opts.credentials();
    } catch (err) {
      throw new HeraldError("CREDENTIALS_FAILED", `the credentials callback failed: ${(err as Error).message}`, true);
    }
    if (!creds || typeof creds.body !== "object") throw new HeraldError("CREDENTIALS_FAILED", "the credentials callback must return {body, headers?}", true);
    const s = await postLogin(this.opts.url, creds, this.fetchFn, this.opts.loginTimeoutMs, this.lifetime.signal);
    this.stats.logins++;
    this.emitSafely("login", { node: { ...s.node }, userId: s.userId, expiresAt: s.expiresAt });
    return s;
  }

  /** Opens one channel and resolves when it is over, saying why. */
  private async openChannel(session: Session): Promise<{ opened: boolean; outcome: Outcome }> {
    await this.idle(); // what the previous channel delivered is processed: the position below is final
    if (this.closed) return { opened: false, outcome: { reason: "closed", dropSession: false } };
    const gen = this.gen;
    const since = this._position ? { ...this._position } : null;
    const auth: Record<string, unknown> = { token: session.token, deviceId: this.opts.deviceId };
    if (since) auth.since = since;
    const socket = io(session.node.url, {
      path: session.node.path,
      auth,
      transports: this.opts.transports ?? ["websocket"],
      reconnection: false,
      forceNew: true,
      timeout: this.opts.connectTimeoutMs,
    });
    this.socket = socket;
    return new Promise((resolve) => {
      let opened = false;
      let done = false;
      const finish = (outcome: Outcome) => {
        if (done) return;
        done = true;
        this.gen++;
        this.abortChannel = null;
        this.clearTimer("refreshTimer");
        this.clearTimer("moveTimer");
        this.clearTimer("ackTimer"); // an ack sent now could be dropped with the disconnect: the next channel sends it
        socket.off();
        socket.close();
        if (this.socket === socket) this.socket = null;
        resolve({ opened, outcome });
      };
      this.abortChannel = finish;
      socket.on("connect", () => {
        opened = true;
        this.stats.connections++;
        this.setState("connected");
        this.emitSafely("connected", { node: { ...session.node }, userId: session.userId, since });
        this.scheduleRefresh(session, socket);
        if (this.unacked) this.flushAck();
      });
      socket.on("connect_error", (err: Error & { data?: { code?: unknown } }) => {
        const code = typeof err.data?.code === "string" ? err.data.code : null;
        if (code && !HARMLESS_CONNECT_CODES.has(code)) this.report(new HeraldError(code, err.message, true));
        finish({ reason: code ?? "CONNECT_FAILED", dropSession: true, immediate: code === "WRONG_NODE" || code === "TOKEN_EXPIRED" });
      });
      // Closed by the server (kicked, or the node shutting down): log in again; lost transport: same node first.
      socket.on("disconnect", (reason: string) => finish({ reason, dropSession: reason === "io server disconnect" }));
      // Asked to move: keep receiving until the delay the node chose (it spreads its clients), then log in again.
      socket.on("relogin", (r: { reason?: unknown; delayMs?: unknown }) => {
        const delayMs = typeof r?.delayMs === "number" && r.delayMs >= 0 ? Math.min(r.delayMs, MAX_SERVER_DELAY_MS) : 0;
        const move = () => finish({ reason: `relogin:${String(r?.reason)}`, dropSession: true, delayMs: 0 });
        this.clearTimer("moveTimer");
        if (delayMs === 0) move();
        else this.moveTimer = setTimeout(() => ((this.moveTimer = null), move()), delayMs);
      });
      socket.on("message", (m: unknown) => {
        if (isMessage(m)) this.enqueue({ gen, kind: "message", m });
        else this.report(new HeraldError("INVALID_MESSAGE", "the node sent a message without id/epoch/offset/prev", false));
      });
      socket.on("recovery", (r: Recovery) => this.enqueue({ gen, kind: "recovery", r }));
    });
  }

  /** Before the token expires, log in again: same node → keep the channel and the new token; another → move. */
  private scheduleRefresh(session: Session, socket: Socket, delay = Math.max(0, session.refreshAt - Date.now())): void {
    this.clearTimer("refreshTimer");
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.login().then(
        (next) => {
          if (this.closed || this.socket !== socket) return;
          this.session = next;
          if (next.node.id !== session.node.id || next.node.url !== session.node.url || next.node.path !== session.node.path)
            this.abortChannel?.({ reason: "moved", dropSession: false, delayMs: 0 });
          else this.scheduleRefresh(next, socket);
        },
        (err: HeraldError) => {
          if (this.closed || this.socket !== socket) return;
          this.report(err);
          // the open channel does not need the token; retry until it expires, then reconnects log in anyway
          if (Date.now() < session.expiresAt) this.scheduleRefresh(session, socket, backoffDelay(2, this.backoff));
        },
      );
    }, delay);
  }

  // ---- processing, in order, one at a time -----------------------------------------------------

  private enqueue(item: Item): void {
    if (this.closed || item.gen !== this.gen) return;
    this.queue.push(item);
    if (this.pumping) return;
    // drain() clears `pumping` in the same tick as it sees the queue empty: nothing enqueued later is stranded
    this.pumping = true;
    const run = this.drain();
    this.draining = this.pumping ? run : null;
  }

  private idle(): Promise<void> {
    return this.draining ?? Promise.resolve();
  }

  /** Processes the queue; `pumping` is cleared in the very continuation that finds the queue empty. */
  private async drain(): Promise<void> {
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        if (item.gen !== this.gen || this.closed) continue;
        try {
          if (item.kind === "recovery") this.recovery(item.r);
          else await this.process(item.m as HeraldMessage<T>);
        } catch (err) {
          // onMessage failed: the position did not move; reconnect and get the message again
          this.report(new HeraldError("HANDLER_FAILED", `onMessage threw: ${(err as Error).message}`, true));
          this.gen++;
          this.queue = [];
          this.abortChannel?.({ reason: "HANDLER_FAILED", dropSession: false, delayMs: backoffDelay(this.handlerFailures++, this.backoff) });
        }
      }
    } finally {
      this.pumping = false;
      this.draining = null;
    }
  }

  private recovery(r: Recovery): void {
    if (typeof r !== "object" || r === null || r.recovered !== false) return;
    const reason: GapReason = r.reason === "GAP" ? "GAP" : "EPOCH_CHANGED";
    const epoch = typeof r.epoch === "string" ? r.epoch : null;
    if (this.openGap && this.openGap.reason === reason && this.openGap.epoch === epoch) return; // same hole, reported already
    this.reportGap({ reason, from: this.position, epoch, detectedBy: "recovery" });
  }

  private async process(m: HeraldMessage<T>): Promise<void> {
    const verdict = classify(this._position, m, this.openGap !== null);
    if (verdict.kind === "duplicate") {
      this.stats.duplicatesDropped++;
      return;
    }
    if (verdict.kind === "gap") {
      const from = this._position!;
      // Messages between the position and this one may still be in the inbox (a node gives up filling a hole
      // after one read, or when Redis errs): ask for a replay from the position, once; the node's recovery
      // answer then reports a real gap.
      const key = `${from.epoch} ${from.offset}`;
      if (verdict.reason === "GAP" && compareOffsets(m.prev, from.offset) > 0 && this.resyncedFrom !== key) {
        this.resyncedFrom = key;
        this.stats.resyncs++;
        this.gen++;
        this.queue = [];
        this.abortChannel?.({ reason: "RESYNC", dropSession: false, delayMs: 0 });
        return;
      }
      this.reportGap({ reason: verdict.reason, from: this.position, epoch: m.epoch, detectedBy: "message" });
    }
    this.inHandler = true;
    try {
      if (this.opts.onMessage) await this.opts.onMessage(m);
      this._position = { epoch: m.epoch, offset: m.offset };
      this.openGap = null;
      this.handlerFailures = 0;
      this.stats.delivered++;
      this.emitSafely("message", m);
    } finally {
      this.inHandler = false;
    }
    try {
      await this.store.save(this._position);
    } catch (err) {
      this.report(new HeraldError("STORE_FAILED", `could not save the position: ${(err as Error).message}`, true));
    }
    this.unacked++;
    if (this.closed) return; // close() sends the last ack
    if (this.unacked >= this.opts.ackEvery) this.flushAck();
    else this.ackTimer ??= setTimeout(() => ((this.ackTimer = null), this.flushAck()), this.opts.ackDelayMs);
  }

  private reportGap(g: GapEvent): void {
    this.openGap = { reason: g.reason, epoch: g.epoch };
    this.stats.gaps++;
    this.emitSafely("gap", g);
  }

  /** Cumulative ack of everything processed; kept for later when no channel is open. */
  private flushAck(): void {
    this.clearTimer("ackTimer");
    if (!this.unacked || !this._position || !this.socket?.connected) return;
    this.socket.emit("ack", { ...this._position });
    this.unacked = 0;
  }

  /**
   * The ack before close(), confirmed by the node: Socket.IO drops an event that reaches the server together
   * with the disconnect, so the channel is closed only once the node has it (or after a second).
   */
  private async lastAck(): Promise<void> {
    this.clearTimer("ackTimer");
    const socket = this.socket;
    if (!this.unacked || !this._position || !socket?.connected) return;
    this.unacked = 0;
    try {
      await socket.timeout(LAST_ACK_TIMEOUT_MS).emitWithAck("ack", { ...this._position });
    } catch {
      // not confirmed in time (an older node, or the channel broke): it may have arrived anyway
    }
  }

  // ---- small helpers ---------------------------------------------------------------------------

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        this.clearTimer("sleepTimer");
        this.wake = null;
        resolve();
      };
      this.sleepTimer = setTimeout(() => this.wake?.(), ms);
    });
  }

  private clearTimer(name: "ackTimer" | "refreshTimer" | "sleepTimer" | "moveTimer"): void {
    const t = this[name];
    if (t !== null) clearTimeout(t);
    this[name] = null;
  }

  private setState(s: ClientState): void {
    if (this._state === s || (this._state === "closed" && s !== "closed")) return;
    this._state = s;
    this.emitSafely("state", s);
  }

  private report(e: HeraldError): void {
    this.emitSafely("error", e);
  }

  /** A throwing listener must not break the client: its error is reported (or dropped, for "error" itself). */
  private emitSafely<K extends keyof HeraldClientEvents<T>>(event: K, ...args: Parameters<HeraldClientEvents<T>[K]>): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      if (event !== "error") this.report(new HeraldError("LISTENER_FAILED", `a "${String(event)}" listener threw: ${(err as Error).message}`, false));
    }
  }
}

function isMessage(m: unknown): m is HeraldMessage<unknown> {
  if (typeof m !== "object" || m === null) return false;
  const o = m as Record<string, unknown>;
  return typeof o.id === "string" && typeof o.epoch === "string" && typeof o.offset === "string" && typeof o.prev === "string";
}

/** Creates and starts a client. */
export function createClient<T = unknown>(options: HeraldClientOptions<T>): HeraldClient<T> {
  return new HeraldClient<T>(options).start();
}
