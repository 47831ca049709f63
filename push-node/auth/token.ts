// Access tokens (claim 4): a short-lived JWT bound to the user and to the node the user was assigned.
import { SignJWT, errors, jwtVerify } from "jose";

const ISSUER = "herald";
const AUDIENCE = "herald-channel";

export interface AccessClaims {
  user: string;
  node: string;
}

export type TokenCheck =
  | { ok: true; claims: AccessClaims }
  | { ok: false; code: "TOKEN_MISSING" | "TOKEN_INVALID" | "TOKEN_EXPIRED"; message: string };

export class TokenIssuer {
  private readonly key: Uint8Array;
  constructor(secret: string, private readonly ttlSeconds: number) {
    this.key = new TextEncoder().encode(secret);
  }

  async issue(claims: AccessClaims): Promise<{ token: string; expiresAt: string }> {
    const exp = Math.floor(Date.now() / 1000) + this.ttlSeconds;
    const token = await new SignJWT({ node: claims.node })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(claims.user)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  async check(token: unknown): Promise<TokenCheck> {
    if (typeof token !== "string" || token === "") return { ok: false, code: "TOKEN_MISSING", message: "the handshake must carry auth.token from POST /v1/login" };
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ["HS256"] });
      if (typeof payload.sub !== "string" || typeof payload.node !== "string") return { ok: false, code: "TOKEN_INVALID", message: "token lacks its user or node" };
      return { ok: true, claims: { user: payload.sub, node: payload.node } };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { ok: false, code: "TOKEN_EXPIRED", message: "token expired; log in again" };
      return { ok: false, code: "TOKEN_INVALID", message: "token is not valid for this cluster" };
    }
  }
}
