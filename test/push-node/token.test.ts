// Access tokens: HS256 JWTs made and checked with node:crypto, readable by any JWT library (here jose).
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SignJWT, jwtVerify } from "jose";
import { TokenIssuer, tokenKeyId } from "../../push-node/auth/token.js";

const SECRET = "token-test-secret-0123456789abcdef0123456789";
const key = new TextEncoder().encode(SECRET);
const tokens = new TokenIssuer(SECRET, 600);
const claims = { user: "ann", node: "push-1" };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const joseToken = (header: Record<string, unknown>, exp: number | string = "1m", secret = key) =>
  new SignJWT({ node: "push-1" }).setProtectedHeader(header as { alg: string }).setSubject("ann").setIssuer("herald").setAudience("herald-channel").setExpirationTime(exp).sign(secret);

describe("access tokens", () => {
  it("checks what it issued, and jose reads it as a standard HS256 JWT with sub, iss, aud, iat and exp", async () => {
    const { token, expiresAt } = tokens.issue(claims);
    expect(tokens.check(token)).toEqual({ ok: true, claims });
    const { payload, protectedHeader } = await jwtVerify(token, key, { issuer: "herald", audience: "herald-channel", algorithms: ["HS256"] });
    expect(protectedHeader).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload).toMatchObject({ sub: "ann", node: "push-1" });
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(new Date(expiresAt).getTime()).toBe(payload.exp! * 1000);
  });

  it("accepts an HS256 token jose signed with the same secret, with or without typ", async () => {
    expect(tokens.check(await joseToken({ alg: "HS256" }))).toEqual({ ok: true, claims });
    expect(tokens.check(await joseToken({ alg: "HS256", typ: "JWT" }))).toEqual({ ok: true, claims });
  });

  it("carries claim fields it does not know (as a later AccessClaims field) through unchanged", () => {
    const more = { ...claims, inbox: { epoch: "e1", offset: "5-0" } };
    expect(tokens.check(tokens.issue(more as typeof claims).token)).toEqual({ ok: true, claims: more });
  });

  it("refuses other algorithms, extensions, a tampered payload, a foreign key and malformed tokens", async () => {
    const { token } = tokens.issue(claims);
    const [h, p, s] = token.split(".");
    const tampered = `${h}.${b64({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), sub: "eve" })}.${s}`;
    const none = `${b64({ alg: "none" })}.${p}.`;
    const hs512 = `${b64({ alg: "HS512", typ: "JWT" })}.${p}.${s}`;
    const critHeader = b64({ alg: "HS256", crit: ["x"], x: 1 });
    const withCrit = `${critHeader}.${p}.${createHmac("sha256", SECRET).update(`${critHeader}.${p}`).digest("base64url")}`;
    for (const bad of [tampered, none, hs512, withCrit, `${token}.x`, "a.b", "garbage", `${h}.${p}.${s}x`, await joseToken({ alg: "HS256" }, "1m", new TextEncoder().encode("x".repeat(40)))])
      expect(tokens.check(bad)).toMatchObject({ ok: false, code: "TOKEN_INVALID" });
  });

  it("refuses a wrong issuer or audience, and a token without its node", async () => {
    const base = () => new SignJWT({ node: "push-1" }).setProtectedHeader({ alg: "HS256" }).setSubject("ann").setExpirationTime("1m");
    expect(tokens.check(await base().setIssuer("shop").setAudience("herald-channel").sign(key))).toMatchObject({ code: "TOKEN_INVALID" });
    expect(tokens.check(await base().setIssuer("herald").setAudience("other").sign(key))).toMatchObject({ code: "TOKEN_INVALID" });
    expect(tokens.check(await base().setIssuer("herald").setAudience(["other", "herald-channel"]).sign(key))).toMatchObject({ ok: true });
    const noNode = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("ann").setIssuer("herald").setAudience("herald-channel").setExpirationTime("1m").sign(key);
    expect(tokens.check(noNode)).toEqual({ ok: false, code: "TOKEN_INVALID", message: "token lacks its user or node" });
  });

  it("tells an expired token and a missing one apart from an invalid one", async () => {
    expect(tokens.check(await joseToken({ alg: "HS256" }, Math.floor(Date.now() / 1000) - 5))).toMatchObject({ ok: false, code: "TOKEN_EXPIRED" });
    expect(tokens.check(new TokenIssuer(SECRET, -10).issue(claims).token)).toMatchObject({ ok: false, code: "TOKEN_EXPIRED" });
    expect(tokens.check("")).toMatchObject({ code: "TOKEN_MISSING" });
    expect(tokens.check(undefined)).toMatchObject({ code: "TOKEN_MISSING" });
  });

  it("during a rotation accepts the previous secret too, and signs for a node not rolled yet with the secret it announces", () => {
    const NEW = "token-test-secret-rotated-0123456789abcdef0123";
    const announced = new Map<string, string>();
    const rolled = new TokenIssuer(NEW, 600, { previous: SECRET, nodeKeyId: (id) => announced.get(id) });
    const newOnly = new TokenIssuer(NEW, 600);
    expect(rolled.keyId).toBe(tokenKeyId(NEW));
    expect(tokens.keyId).toBe(tokenKeyId(SECRET));
    expect(tokenKeyId(NEW)).not.toContain(NEW.slice(0, 8));
    // a token an old node signed is accepted by a rolled node, not by one without the previous secret
    const old = tokens.issue(claims).token;
    expect(rolled.check(old)).toEqual({ ok: true, claims });
    expect(newOnly.check(old)).toMatchObject({ ok: false, code: "TOKEN_INVALID" });
    // for a node that announces the old key, the rolled node signs with the old secret (that node knows no other)
    announced.set("push-1", tokens.keyId);
    const forOld = rolled.issue(claims).token;
    expect(tokens.check(forOld)).toEqual({ ok: true, claims });
    // for a rolled node (or one that announces nothing), the current secret
    announced.set("push-1", rolled.keyId);
    const forNew = rolled.issue(claims).token;
    expect(newOnly.check(forNew)).toEqual({ ok: true, claims });
    expect(tokens.check(forNew)).toMatchObject({ code: "TOKEN_INVALID" });
    announced.clear();
    expect(newOnly.check(rolled.issue(claims).token)).toEqual({ ok: true, claims });
    // a third secret is still refused
    expect(new TokenIssuer(NEW, 600, { previous: SECRET }).check(new TokenIssuer("x".repeat(40), 600).issue(claims).token)).toMatchObject({ code: "TOKEN_INVALID" });
  });
});
