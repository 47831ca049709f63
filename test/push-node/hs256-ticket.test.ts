// The HS256 ticket check (node:crypto) against jose's jwtVerify on the same tickets: both accept or both
// refuse, for the same reason, across valid tickets and every way a ticket can be wrong.
import { createHmac } from "node:crypto";
import { SignJWT, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { checkHs256Ticket } from "../../push-node/auth/hs256-ticket.js";

const secret = "a-ticket-secret-of-enough-length!";
const key = Buffer.from(secret);
const rules = { issuer: "backend", audience: "herald", clockToleranceSeconds: 30 };
const now = Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
/** A token with any header and payload, signed with `with` (HS256 over the two segments as given). */
function raw(header: unknown, payload: unknown, withSecret = secret): string {
  const signed = `${b64(header)}.${b64(payload)}`;
  return `${signed}.${createHmac("sha256", withSecret).update(signed).digest("base64url")}`;
}
const good = { sub: "u1", iss: "backend", aud: "herald", iat: now, exp: now + 60 };
const H = { alg: "HS256", typ: "JWT" };

async function viaJose(ticket: string): Promise<string> {
  try {
    await jwtVerify(ticket, key, { algorithms: ["HS256"], issuer: rules.issuer, audience: rules.audience, clockTolerance: rules.clockToleranceSeconds, requiredClaims: ["exp"], currentDate: new Date(now * 1000) });
    return "ok";
  } catch (err) {
    return (err as Error).message;
  }
}
function viaNodeCrypto(ticket: string): string {
  const r = checkHs256Ticket(ticket, key, rules, now);
  return r.ok ? "ok" : r.reason;
}

const cases: [string, string][] = [
  ["valid", raw(H, good)],
  ["valid, no typ, audience in a list", raw({ alg: "HS256" }, { ...good, aud: ["x", "herald"] })],
  ["valid, nbf within the tolerance", raw(H, { ...good, nbf: now + 20 })],
  ["valid, expired within the tolerance", raw(H, { ...good, exp: now - 20 })],
  ["expired", raw(H, { ...good, exp: now - 31 })],
  ["expired exactly at the tolerance", raw(H, { ...good, exp: now - 30 })],
  ["not yet valid", raw(H, { ...good, nbf: now + 31 })],
  ["no exp", raw(H, { sub: "u1", iss: "backend", aud: "herald" })],
  ["exp not a number", raw(H, { ...good, exp: String(now + 60) })],
  ["iat not a number", raw(H, { ...good, iat: "now" })],
  ["nbf not a number", raw(H, { ...good, nbf: "soon" })],
  ["wrong issuer", raw(H, { ...good, iss: "other" })],
  ["no issuer", raw(H, { sub: "u1", aud: "herald", exp: now + 60 })],
  ["wrong audience", raw(H, { ...good, aud: "other" })],
  ["audience list without ours", raw(H, { ...good, aud: ["a", "b"] })],
  ["wrong secret", raw(H, good, "another-secret-of-enough-length!!")],
  ["alg none", `${b64({ alg: "none" })}.${b64(good)}.`],
  ["alg HS512", raw({ alg: "HS512" }, good)],
  ["alg RS256", raw({ alg: "RS256" }, good)],
  ["crit header", raw({ alg: "HS256", crit: ["exp"], exp: 1 }, good)],
  ["b64 false", raw({ alg: "HS256", b64: false, crit: ["b64"] }, good)],
  ["payload an array", raw(H, [good])],
  ["payload not JSON", `${b64(H)}.${b64("not json")}.${createHmac("sha256", secret).update(`${b64(H)}.${b64("not json")}`).digest("base64url")}`],
  ["header not JSON", `${b64("nope")}.${b64(good)}.x`],
  ["two parts", `${b64(H)}.${b64(good)}`],
  ["four parts", `${raw(H, good)}.x`],
  ["empty", ""],
];

describe("HS256 tickets checked with node:crypto, as jose checks them", () => {
  it.each(cases.slice(1))("%s: both accept or both refuse", async (_name, ticket) => {
    const jose = await viaJose(ticket);
    const ours = viaNodeCrypto(ticket);
    expect(ours === "ok").toBe(jose === "ok");
  });

  it("accepts what jose signs, and gives jose's reason where they share one", async () => {
    const signed = await new SignJWT({ ...good }).setProtectedHeader({ alg: "HS256" }).sign(key);
    expect(viaNodeCrypto(signed)).toBe("ok");
    expect(viaNodeCrypto(raw(H, good))).toBe("ok");
    // stricter on purpose: a signature only in its canonical base64url form (jose also takes it padded)
    expect(viaNodeCrypto(`${raw(H, good)}=`)).toBe("signature verification failed");
    for (const name of ["expired", "not yet valid", "no exp", "wrong issuer", "wrong audience", "wrong secret"]) {
      const ticket = cases.find(([n]) => n === name)![1];
      expect(viaNodeCrypto(ticket)).toBe(await viaJose(ticket));
    }
  });
});
