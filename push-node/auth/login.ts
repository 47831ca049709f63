// Login, first half: verify what a login request carries and say who the user is.
// Three ways: a ticket (a JWT the business backend signed), a webhook to the business backend, or dev.
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";
import { checkHs256Ticket } from "./hs256-ticket.js";
import type { Config } from "../config.js";
import { userId } from "../publisher.js";

export class LoginError extends Error {
  constructor(readonly status: 400 | 401 | 502, readonly code: string, message: string) {
    super(message);
  }
}

export type Verifier = (body: Record<string, unknown>, headers: Record<string, string | string[] | undefined>) => Promise<string>;

function checkedUser(value: unknown, what: string): string {
  const parsed = userId.safeParse(value);
  if (!parsed.success) throw new LoginError(401, "LOGIN_REFUSED", `${what} is not a valid user id`);
  return parsed.data;
}

/**
 * Why a ticket lives too long, or null when it is fine. Times are seconds since the epoch.
 * exp − iat must not exceed maxLifetime (both stamped by the same backend clock), exp − now must not
 * exceed maxLifetime + skew (so a ticket without iat, or with iat set ahead, cannot outlive the bound),
 * and iat may be at most `skew` seconds in the future.
 */
export function ticketLifetimeProblem(claims: { exp?: unknown; iat?: unknown }, now: number, rules: { maxLifetimeSeconds: number; clockSkewSeconds: number }): string | null {
  const { maxLifetimeSeconds: max, clockSkewSeconds: skew } = rules;
  if (typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) return 'the ticket has no "exp" (an expiry is required)';
  if (claims.iat !== undefined) {
    if (typeof claims.iat !== "number" || !Number.isFinite(claims.iat)) return '"iat" is not a number';
    if (claims.iat > now + skew) return '"iat" is in the future';
    if (claims.exp - claims.iat > max) return `the ticket lives ${claims.exp - claims.iat} s (exp − iat); the limit is ${max} s`;
  }
  if (claims.exp - now > max + skew) return `the ticket expires in ${Math.round(claims.exp - now)} s; the limit is ${max} s`;
  return null;
}

export function createVerifier(auth: Config["auth"], now: () => number = () => Date.now() / 1000): Verifier {
  switch (auth.mode) {
    case "dev":
      return async (body) => {
        if (typeof body.userId !== "string") throw new LoginError(400, "INVALID_LOGIN", 'dev login needs {"userId": "..."}');
        return checkedUser(body.userId, "userId");
      };
    case "ticket": {
      const { secret, jwksUrl, issuer, audience, maxLifetimeSeconds, clockSkewSeconds } = auth.ticket;
      const rules = { issuer, audience, clockToleranceSeconds: clockSkewSeconds };
      const lifetime = { maxLifetimeSeconds, clockSkewSeconds };
      const refused = (problem: string) => new LoginError(401, "LOGIN_REFUSED", `ticket refused: ${problem}`);
      const needsTicket = () => new LoginError(400, "INVALID_LOGIN", 'ticket login needs {"ticket": "<JWT from your backend>"}');
      if (!jwksUrl) {
        // a shared secret: checked with node:crypto (auth/hs256-ticket.ts), synchronously
        const key = Buffer.from(secret!, "utf8");
        return async (body) => {
          if (typeof body.ticket !== "string" || !body.ticket) throw needsTicket();
          const t = now();
          const checked = checkHs256Ticket(body.ticket, key, rules, t);
          if (!checked.ok) throw refused(checked.reason);
          const problem = ticketLifetimeProblem(checked.claims, t, lifetime);
          if (problem) throw refused(problem);
          return checkedUser(checked.claims.sub, "the ticket's sub");
        };
      }
      const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(jwksUrl));
      return async (body) => {
        if (typeof body.ticket !== "string" || !body.ticket) throw needsTicket();
        let sub: unknown;
        try {
          const { payload } = await jwtVerify(body.ticket, keys, { algorithms: ["RS256", "ES256"], issuer, audience, clockTolerance: clockSkewSeconds, requiredClaims: ["exp"] });
          const problem = ticketLifetimeProblem(payload, now(), lifetime);
          if (problem) throw refused(problem);
          sub = payload.sub;
        } catch (err) {
          if (err instanceof LoginError) throw err;
          const code = (err as { code?: string }).code;
          if (code === "ERR_JWKS_TIMEOUT" || code === "ERR_JOSE_GENERIC") throw new LoginError(502, "LOGIN_BACKEND_UNAVAILABLE", "could not fetch the ticket keys (JWKS)");
          throw refused((err as Error).message);
        }
        return checkedUser(sub, "the ticket's sub");
      };
    }
    case "webhook":
      return async (body, headers) => {
        const forward: Record<string, string> = { "content-type": "application/json" };
        for (const h of ["authorization", "cookie"]) {
          const v = headers[h];
          if (typeof v === "string") forward[h] = v;
        }
        let res: Response;
        try {
          res = await fetch(auth.url, { method: "POST", headers: forward, body: JSON.stringify(body), redirect: "manual", signal: AbortSignal.timeout(auth.timeoutMs) });
        } catch (err) {
          const timeout = (err as Error).name === "TimeoutError";
          throw new LoginError(502, "LOGIN_BACKEND_UNAVAILABLE", timeout ? `the login webhook did not answer within ${auth.timeoutMs} ms` : "the login webhook could not be reached");
        }
        if (res.status === 200) {
          const answer = (await res.json().catch(() => null)) as { userId?: unknown } | null;
          return checkedUser(answer?.userId, "the webhook's userId");
        }
        await res.body?.cancel();
        if (res.status >= 400 && res.status < 500) throw new LoginError(401, "LOGIN_REFUSED", `the login webhook refused (HTTP ${res.status})`);
        throw new LoginError(502, "LOGIN_BACKEND_UNAVAILABLE", `the login webhook answered HTTP ${res.status}`);
      };
  }
}
