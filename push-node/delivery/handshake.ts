// A channel's handshake (Socket.IO middleware): the access token checked, the client's auth read, the
// per-user socket limit, then the user's presence recorded before the channel is acknowledged. A refusal
// is a connect_error whose `data.code` says why.
import type { Socket } from "socket.io";
import type { Logger } from "pino";
import { z } from "zod";
import type { AffinityNode } from "../../protocol/affinity-document.js";
import type { Position } from "../../protocol/positions.js";
import type { TokenIssuer } from "../auth/token.js";
import type { Metrics } from "../metrics.js";
import { newChannel, type Channel } from "./channel.js";
import type { LoginPosition } from "./resume.js";
import type { UserLinks } from "./user-links.js";

/** An inbox position from a client: `auth.since` in the handshake, and each `ack`. */
export const clientPosition = z.strictObject({ epoch: z.string().min(1).max(64), offset: z.string().regex(/^\d{1,15}-\d{1,15}$/) });
const deviceId = z.string().min(1).max(64).regex(/^[A-Za-z0-9._:-]+$/);
/** The login position a token carries (absent in tokens of older nodes: then rule 2 is live only). */
const loginPosition = z.object({ epoch: z.string().min(1).max(64).nullable(), offset: z.string().regex(/^\d{1,15}-\d{1,15}$/) });

/** A handshake refused: Socket.IO hands `data` to the client with its connect_error. */
export type HandshakeRefusal = Error & { data: { code: string } & Record<string, unknown> };

export function refusal(code: string, message: string, extra: Record<string, unknown> = {}): HandshakeRefusal {
  const err = new Error(message) as HandshakeRefusal;
  err.data = { code, ...extra };
  return err;
}

export interface ClientRequest {
  /** Where the client asks to resume (auth.since), or null. */
  since: Position | null;
  /** The client's device (auth.deviceId), whose acks are kept, or null. */
  device: string | null;
}

/** Reads auth.since and auth.deviceId; a refusal when either is malformed. */
export function readClientRequest(auth: Record<string, unknown>): ClientRequest | HandshakeRefusal {
  let since: Position | null = null;
  if (auth.since !== undefined && auth.since !== null) {
    const p = clientPosition.safeParse(auth.since);
    if (!p.success) return refusal("INVALID_HANDSHAKE", 'auth.since must be {"epoch": "...", "offset": "<ms>-<seq>"}');
    since = p.data;
  }
  let device: string | null = null;
  if (auth.deviceId !== undefined && auth.deviceId !== null) {
    const p = deviceId.safeParse(auth.deviceId);
    if (!p.success) return refusal("INVALID_HANDSHAKE", "auth.deviceId must be 1-64 letters, digits, '.', '_', ':' or '-'");
    device = p.data;
  }
  return { since, device };
}

/** The inbox position a token's claims carry from the login, or null (a token of an older node). */
export function loginPositionOf(claim: unknown): LoginPosition | null {
  const p = loginPosition.safeParse(claim);
  return p.success ? p.data : null;
}

export interface HandshakeDeps {
  nodeId: string;
  tokens: TokenIssuer;
  links: UserLinks;
  /** The node a token names, to point a client at when it reached the wrong one. */
  findNode: (id: string) => AffinityNode | null;
  accepting: () => boolean;
  /** HERALD_MAX_SOCKETS_PER_USER (0 = no limit). */
  maxSocketsPerUser: number;
  metrics: Metrics;
  log: Logger;
}

export class Handshakes {
  constructor(private readonly deps: HandshakeDeps) {}

  /** Checks a handshake and records the user here; on success `socket.data` holds the socket's `Channel`. */
  async check(socket: Socket): Promise<void> {
    const { deps } = this;
    if (!deps.accepting()) throw this.refuse(refusal("NODE_UNAVAILABLE", "this node is shutting down; log in again"));
    const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    const checked = deps.tokens.check(auth.token);
    if (!checked.ok) throw this.refuse(refusal(checked.code, checked.message));
    auth.token = undefined; // Socket.IO keeps the handshake for the socket's life; the token is not needed after this check (not `delete`: that turns the object into a slower, larger dictionary)
    if (checked.claims.node !== deps.nodeId) {
      const node = deps.findNode(checked.claims.node);
      throw this.refuse(refusal("WRONG_NODE", `this token is for node ${checked.claims.node}`, { node: node ? { id: node.id, url: node.url, path: node.path } : null }));
    }
    const request = readClientRequest(auth);
    if (request instanceof Error) throw this.refuse(request);
    // Record the user as connected (presence) before the channel is acknowledged, so that a
    // message published once the client sees "connect" is routed here.
    const user = checked.claims.user;
    // The newest socket is refused, not the oldest evicted: N+1 tabs evicting each other would never settle.
    const max = deps.maxSocketsPerUser;
    const held = deps.links.get(user);
    if (max > 0 && held && held.sockets.size + held.handshakes >= max) {
      deps.metrics.refusals.inc({ limit: "sockets_per_user" });
      throw this.refuse(refusal("TOO_MANY_SOCKETS", `this user already has ${max} channels open on this node (HERALD_MAX_SOCKETS_PER_USER); close one or retry later`));
    }
    const login = loginPositionOf(checked.claims.inbox);
    const link = deps.links.linkFor(user);
    link.handshakes++;
    try {
      await link.attached;
    } catch (err) {
      link.handshakes--;
      deps.log.warn({ err: (err as Error).message }, "could not record a user's presence");
      throw this.refuse(refusal("STORE_UNAVAILABLE", "the node cannot reach its store; retry shortly"));
    }
    const channel = newChannel(user, link, request.device, request.since, login);
    socket.data = channel;
    // Socket.IO connects the socket in a later tick, or not at all if the client left meanwhile;
    // whichever comes first closes this handshake's count on the link.
    setImmediate(() => {
      if (closeHandshake(channel)) deps.links.release(user, link);
    });
  }

  private refuse(err: HandshakeRefusal): HandshakeRefusal {
    this.deps.metrics.handshakes.inc({ result: err.data.code });
    return err;
  }
}

/** Takes the channel's handshake off its link's count, once; true the first time. */
export function closeHandshake(channel: Channel): boolean {
  if (!channel.handshakeOpen) return false;
  channel.handshakeOpen = false;
  channel.link.handshakes--;
  return true;
}
