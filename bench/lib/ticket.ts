// Business tickets as a backend mints them for the bench's logins: HS256 JWTs (the same bytes jose's
// SignJWT makes for this header and these claims), signed with node:crypto synchronously. The load
// generator shares the machine with the systems it measures: jose's WebCrypto path (a job and promises per
// signature) made ticket minting cost the client workers about as much CPU as the nodes spent on logins.
import { createHmac } from "node:crypto";

const HEADER = Buffer.from(JSON.stringify({ alg: "HS256" })).toString("base64url");

/** A ticket for `user`, issued now and valid for `ttlSeconds` (hardened nodes refuse long-lived ones). */
export function mintTicket(user: string, key: Buffer, ttlSeconds = 120, now = Math.floor(Date.now() / 1000)): string {
  const body = Buffer.from(JSON.stringify({ sub: user, iat: now, exp: now + ttlSeconds })).toString("base64url");
  const signature = createHmac("sha256", key).update(`${HEADER}.${body}`).digest("base64url");
  return `${HEADER}.${body}.${signature}`;
}
