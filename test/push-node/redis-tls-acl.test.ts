// A push node reaching Redis over TLS (rediss://) as an ACL user, with the default user disabled.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { generate } from "selfsigned";
import { freePort, until } from "../helpers/ports.js";
import { clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, loginTicket, publish } from "../helpers/client.js";

const dir = mkdtempSync(join(tmpdir(), "herald-tls-"));
let redis: ChildProcess;
let port = 0;
let node: NodeProcess | undefined;

beforeAll(async () => {
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keySize: 2048,
    extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }, { type: 2, value: "localhost" }] }],
  } as never);
  writeFileSync(join(dir, "cert.pem"), pems.cert);
  writeFileSync(join(dir, "key.pem"), pems.private);
  port = await freePort();
  redis = spawn("redis-server", [
    "--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
    "--tls-cert-file", join(dir, "cert.pem"), "--tls-key-file", join(dir, "key.pem"), "--tls-ca-cert-file", join(dir, "cert.pem"), "--tls-auth-clients", "no",
    "--user", "default", "off", "--user", "herald", "on", ">s3cret-pass", "~*", "&*", "+@all",
  ], { stdio: "ignore" });
  await until(() => new Promise<boolean>((resolve) => {
    const s = tlsConnect({ port, host: "127.0.0.1", rejectUnauthorized: false }, () => (s.end(), resolve(true)));
    s.on("error", () => resolve(false));
  }), "redis over TLS");
});

afterAll(async () => {
  await node?.stop();
  redis?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("Redis over TLS with an ACL user", () => {
  it("works end to end: login, channel, publish, delivery", async () => {
    node = await startNode(clusterEnv(`rediss://herald:s3cret-pass@127.0.0.1:${port}`, { REDIS_TLS_CA_FILE: join(dir, "cert.pem") }));
    const c = await connect(await loginTicket(node.url, "tls-user"));
    const r = await publish(node.url, { to: ["tls-user"], data: "secure" });
    expect(r.status).toBe(202);
    expect((await c.waitFor(1))[0].data).toBe("secure");
    c.close();
  });

  it("refuses to become ready with a wrong password", async () => {
    const bad = await startNode(clusterEnv(`rediss://herald:wrong@127.0.0.1:${port}`, { REDIS_TLS_CA_FILE: join(dir, "cert.pem") }), { expectReady: false });
    try {
      await until(async () => /WRONGPASS|invalid username-password/i.test(bad.logs()), "the auth error in the log");
      const r = await fetch(`${bad.url}/readyz`).catch(() => null);
      if (r) expect(r.status).toBe(503);
    } finally {
      bad.proc.kill("SIGKILL");
      await bad.exited;
    }
  });
});
