// Business tickets signed with a shared secret (HS256), checked with node:crypto synchronously. A login
// verifies one, and jose's path (WebCrypto, a job and promises per check) was the largest cost of a login.
// Same rules as jose's jwtVerify with { algorithms: ["HS256"], issuer, audience, clockTolerance,
// requiredClaims: ["exp"] } (test/push-node/hs256-ticket.test.ts runs both on the same tickets): the
// algorithm is pinned, the signature compared in constant time, a `crit` header or b64=false refused,
// exp required, nbf and iat honoured with the tolerance. Tickets from a JWKS (RS256/ES256) stay with jose.
import { createHmac, timingSafeEqual } from "node:crypto";
import { parseSegment } from "./jwt-segment.js";

export interface TicketRules {
  issuer?: string;
  audience?: string;
  /** Seconds of clock difference forgiven on exp and nbf. */
  clockToleranceSeconds: number;
}

export type TicketCheck = { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };

const fail = (reason: string): TicketCheck => ({ ok: false, reason });

export function checkHs256Ticket(ticket: string, key: Buffer, rules: TicketRules, now = Date.now() / 1000): TicketCheck {
  const parts = ticket.split(".");
  if (parts.length !== 3) return fail("Invalid Compact JWS");
  const [head, body, signature] = parts as [string, string, string];
  const header = parseSegment(head);
  if (!header) return fail("Invalid JWS Protected Header");
  if (header.alg !== "HS256") return fail('"alg" (Algorithm) Header Parameter value not allowed');
  if (header.crit !== undefined) return fail('"crit" Header Parameter is not supported');
  if (header.b64 !== undefined && header.b64 !== true) return fail('"b64" Header Parameter is not supported');
  const expected = createHmac("sha256", key).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected) || given.toString("base64url") !== signature)
    return fail("signature verification failed");
  const claims = parseSegment(body);
  if (!claims) return fail("JWT Claims Set must be a top-level JSON object");
  // in jose's order, with its whole-second clock
  const t = Math.floor(now);
  const tolerance = rules.clockToleranceSeconds;
  if (claims.exp === undefined) return fail('missing required "exp" claim');
  if (rules.issuer !== undefined && claims.iss !== rules.issuer) return fail('unexpected "iss" claim value');
  if (rules.audience !== undefined && !(claims.aud === rules.audience || (Array.isArray(claims.aud) && claims.aud.includes(rules.audience))))
    return fail('unexpected "aud" claim value');
  if (claims.iat !== undefined && typeof claims.iat !== "number") return fail('"iat" claim must be a number');
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== "number") return fail('"nbf" claim must be a number');
    if (claims.nbf > t + tolerance) return fail('"nbf" claim timestamp check failed');
  }
  if (typeof claims.exp !== "number") return fail('"exp" claim must be a number');
  if (claims.exp <= t - tolerance) return fail('"exp" claim timestamp check failed');
  return { ok: true, claims };
}
