// Access tokens: a short-lived JWT bound to the user and to the node the user was assigned.
// HS256, signed and checked with node:crypto directly: every handshake checks one, and this is several
// times cheaper than a general JWT library's async path. The format is plain JWT (header
// {"alg":"HS256","typ":"JWT"}; the claims as payload with the user as `sub`, plus iss, aud, iat, exp),
// so any JWT library can read it. Tickets signed with a shared secret are checked the same way
// (auth/hs256-ticket.ts); jose stays for tickets verified through a JWKS (auth/login.ts).
import { createHmac, timingSafeEqual } from "node:crypto";
import { parseSegment, segment } from "./jwt-segment.js";

const ISSUER = "herald";
const AUDIENCE = "herald-channel";
const HEADER = segment({ alg: "HS256", typ: "JWT" });
/** Claims the token carries about itself; everything else in the payload is an AccessClaims field. */
const REGISTERED = new Set(["sub", "iss", "aud", "iat", "exp", "nbf", "jti"]);

export interface AccessClaims {
  user: string;
  node: string;
  /** Where the user's inbox stood at login (epoch null: no inbox): a handshake without since or deviceId starts there. */
  inbox?: { epoch: string | null; offset: string };
}

export type TokenCheck =
  | { ok: true; claims: AccessClaims }
  | { ok: false; code: "TOKEN_MISSING" | "TOKEN_INVALID" | "TOKEN_EXPIRED"; message: string };

const MISSING: TokenCheck = { ok: false, code: "TOKEN_MISSING", message: "the handshake must carry auth.token from POST /v1/login" };
const INVALID: TokenCheck = { ok: false, code: "TOKEN_INVALID", message: "token is not valid for this cluster" };
const EXPIRED: TokenCheck = { ok: false, code: "TOKEN_EXPIRED", message: "token expired; log in again" };
const INCOMPLETE: TokenCheck = { ok: false, code: "TOKEN_INVALID", message: "token lacks its user or node" };

/** A short public id of a token secret (an HMAC of a constant under it: it reveals nothing of the secret). */
export function tokenKeyId(secret: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update("herald token key id").digest("base64url").slice(0, 12);
}

export interface TokenIssuerOptions {
  /**
   * The token secret before a rotation (HERALD_TOKEN_SECRET_PREVIOUS), while the nodes roll onto the
   * new one: tokens it signed are still accepted, and a token for a node that still signs with it (not
   * rolled yet: its heartbeat announces this key) is signed with it, so that node can check it.
   */
  previous?: string;
  /** The key id (tokenKeyId) a node announces in its heartbeat, if known. */
  nodeKeyId?: (node: string) => string | undefined;
}

export class TokenIssuer {
  private readonly key: Buffer;
  private readonly previousKey: Buffer | null;
  private readonly previousKeyId: string | null;
  /** tokenKeyId of the secret this node signs with: announced in its heartbeat. */
  readonly keyId: string;
  constructor(secret: string, private readonly ttlSeconds: number, private readonly o: TokenIssuerOptions = {}) {
    this.key = Buffer.from(secret, "utf8");
    this.keyId = tokenKeyId(secret);
    this.previousKey = o.previous && o.previous !== secret ? Buffer.from(o.previous, "utf8") : null;
    this.previousKeyId = this.previousKey ? tokenKeyId(o.previous!) : null;
  }

  /** Signed with the current secret, unless the token's node announces that it still signs with the previous one. */
  issue(claims: AccessClaims): { token: string; expiresAt: string } {
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + this.ttlSeconds;
    const { user, ...rest } = claims;
    const signed = `${HEADER}.${segment({ ...rest, sub: user, iss: ISSUER, aud: AUDIENCE, iat, exp })}`;
    const key = this.previousKey && this.o.nodeKeyId?.(claims.node) === this.previousKeyId ? this.previousKey : this.key;
    return { token: `${signed}.${this.sign(signed, key)}`, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** Synchronous: the signature first (HS256 only, constant-time compare), then iss, aud, nbf and exp. */
  check(token: unknown): TokenCheck {
    if (typeof token !== "string" || token === "") return MISSING;
    const parts = token.split(".");
    if (parts.length !== 3) return INVALID;
    const [header, body, signature] = parts as [string, string, string];
    if (header !== HEADER && !isHs256Header(header)) return INVALID;
    const given = Buffer.from(signature);
    // the current secret first; the previous one (during a rotation) only when that fails
    if (!signedBy(given, this.sign(`${header}.${body}`, this.key)) && !(this.previousKey && signedBy(given, this.sign(`${header}.${body}`, this.previousKey)))) return INVALID;
    const payload = parseSegment(body);
    if (!payload || payload.iss !== ISSUER || !(payload.aud === AUDIENCE || (Array.isArray(payload.aud) && payload.aud.includes(AUDIENCE)))) return INVALID;
    const now = Date.now() / 1000;
    if (typeof payload.exp !== "number" || (payload.nbf !== undefined && !(typeof payload.nbf === "number" && payload.nbf <= now))) return INVALID;
    if (payload.exp <= now) return EXPIRED;
    if (typeof payload.sub !== "string" || typeof payload.node !== "string") return INCOMPLETE;
    const rest = Object.entries(payload).filter(([k]) => !REGISTERED.has(k));
    return { ok: true, claims: Object.fromEntries([["user", payload.sub], ...rest]) as unknown as AccessClaims };
  }

  private sign(signed: string, key: Buffer): string {
    return createHmac("sha256", key).update(signed).digest("base64url");
  }
}

function signedBy(given: Buffer, signature: string): boolean {
  const expected = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A header other than the one issue() writes: still HS256 (the algorithm is pinned), and no extensions (crit). */
function isHs256Header(s: string): boolean {
  const h = parseSegment(s);
  return h !== null && h.alg === "HS256" && h.crit === undefined && (h.typ === undefined || h.typ === "JWT");
}
