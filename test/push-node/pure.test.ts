import { describe, expect, it } from "vitest";
import { giveUp, newOrder, offer } from "../../push-node/delivery/live-order.js";
import { resumeFrom } from "../../push-node/delivery/resume.js";
import { newIncarnation, presenceIsCurrent } from "../../push-node/cluster/incarnation.js";
import { compareOffsets } from "../../protocol/positions.js";
import { ConfigError, loadConfig } from "../../push-node/config.js";

const m = (offset: string, prev: string, epoch = "e1") => ({ epoch, offset, prev, item: offset });

describe("live order", () => {
  it("emits in inbox order, holds what follows a hole, drops repeats", () => {
    const s = newOrder<string>("e1", "1-0");
    expect(offer(s, m("3-0", "2-0"))).toEqual([]);
    expect(s.held).toHaveLength(1);
    expect(offer(s, m("2-0", "1-0"))).toEqual(["2-0", "3-0"]);
    expect(offer(s, m("2-0", "1-0"))).toEqual([]);
    expect(offer(s, m("4-0", "3-0"))).toEqual(["4-0"]);
    expect(s.tail).toBe("4-0");
  });

  it("gives up on a hole that cannot be filled, still in order", () => {
    const s = newOrder<string>("e1", "1-0");
    offer(s, m("5-0", "4-0"));
    offer(s, m("4-0", "3-0"));
    expect(giveUp(s)).toEqual(["4-0", "5-0"]);
    expect(s.tail).toBe("5-0");
  });

  it("starts again on a new epoch", () => {
    const s = newOrder<string>("e1", "9-0");
    expect(offer(s, m("10-0", "0-0", "e2"))).toEqual(["10-0"]);
    expect(s.epoch).toBe("e2");
  });

  it("lets through a message whose prev is behind the tail (the inbox rolled back)", () => {
    const s = newOrder<string>("e1", "9-0");
    expect(offer(s, m("12-0", "7-0"))).toEqual(["12-0"]);
  });
});

describe("offsets", () => {
  it("compare by milliseconds, then sequence", () => {
    expect(compareOffsets("9-5", "10-0")).toBeLessThan(0);
    expect(compareOffsets("10-2", "10-10")).toBeLessThan(0);
    expect(compareOffsets("10-0", "10-0")).toBe(0);
    expect(compareOffsets("1795636675564-1", "1795636675564-0")).toBeGreaterThan(0);
    expect(compareOffsets("1795636675565-0", "1795636675564-9")).toBeGreaterThan(0);
    expect(compareOffsets("1795636675564-0", "1795636675565-0")).toBeLessThan(0);
    expect(compareOffsets("0-0", "1-0")).toBeLessThan(0);
    expect(compareOffsets("7", "7-0")).toBe(0);
  });
});

describe("resume position", () => {
  const acks = new Map(Object.entries({ phone: { epoch: "e1", offset: "5-0" }, laptop: { epoch: "e1", offset: "8-0" }, old: { epoch: "e0", offset: "99-0" } }));
  const none = new Map<string, { epoch: string; offset: string }>();
  it("prefers the given position, then the device's ack, then what no device acknowledged", () => {
    expect(resumeFrom({ epoch: "e1", offset: "1-0" }, "phone", acks, "e1")).toEqual({ epoch: "e1", offset: "1-0" });
    expect(resumeFrom(null, "phone", acks, "e1")).toEqual({ epoch: "e1", offset: "5-0" });
    expect(resumeFrom(null, "tablet", acks, "e1")).toEqual({ epoch: "e1", offset: "8-0" });
    expect(resumeFrom(null, "tablet", none, "e1")).toEqual({ epoch: "e1", offset: "0-0" });
  });
  it("without a device: from the login position the token carries; the whole inbox when there was none at login", () => {
    expect(resumeFrom(null, null, acks, "e1", { epoch: "e1", offset: "7-0" })).toEqual({ epoch: "e1", offset: "7-0" });
    expect(resumeFrom(null, null, acks, "e2", { epoch: "e1", offset: "7-0" })).toEqual({ epoch: "e1", offset: "7-0" }); // the epoch check reports the change
    expect(resumeFrom(null, null, acks, "e1", { epoch: null, offset: "0-0" })).toEqual({ epoch: "e1", offset: "0-0" });
    expect(resumeFrom(null, null, acks, null, { epoch: null, offset: "0-0" })).toBeNull();
    expect(resumeFrom({ epoch: "e1", offset: "9-0" }, null, acks, "e1", { epoch: "e1", offset: "7-0" })).toEqual({ epoch: "e1", offset: "9-0" }); // since wins
    expect(resumeFrom(null, "phone", acks, "e1", { epoch: "e1", offset: "7-0" })).toEqual({ epoch: "e1", offset: "5-0" }); // a device's ack wins
  });
  it("is live only without a device and a login position (older tokens), or without an inbox for a new device", () => {
    expect(resumeFrom(null, null, acks, "e1")).toBeNull();
    expect(resumeFrom(null, "tablet", none, null)).toBeNull();
  });
  it("takes device ids named like Object.prototype members as plain names", () => {
    for (const d of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(resumeFrom(null, d, acks, "e1")).toEqual({ epoch: "e1", offset: "8-0" });
      expect(resumeFrom(null, d, new Map([[d, { epoch: "e1", offset: "2-0" }]]), "e1")).toEqual({ epoch: "e1", offset: "2-0" });
    }
  });
});

describe("incarnations", () => {
  it("tell a dead run's presence from the current one's", () => {
    const old = newIncarnation(1000);
    const current = newIncarnation(2000);
    expect(presenceIsCurrent(old, current)).toBe(false);
    expect(presenceIsCurrent(current, old)).toBe(true);
    expect(presenceIsCurrent(current, current)).toBe(true);
    expect(presenceIsCurrent(old, undefined)).toBe(true);
  });
});

describe("configuration", () => {
  it("defaults to the embedded mode with dev login", () => {
    const c = loadConfig({});
    expect(c.redis).toBeNull();
    expect(c.auth.mode).toBe("dev");
    expect(c.port).toBe(3000);
    expect(c.socketPath).toBe("/socket.io");
  });

  it("names each bad variable", () => {
    expect(() => loadConfig({ PORT: "seventy" })).toThrow(/PORT="seventy"/);
    expect(() => loadConfig({ HERALD_KEY_PREFIX: "a{b}" })).toThrow(/HERALD_KEY_PREFIX/);
    expect(() => loadConfig({ REDIS_URL: "redis://x" })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: "redis://x" })).toThrow(/HERALD_AUTH_MODE/);
    expect(() => loadConfig({ REDIS_URL: "redis://x", HERALD_AUTH_MODE: "dev" })).toThrow(/only allowed in the embedded mode/);
    expect(() => loadConfig({ HERALD_AUTH_MODE: "ticket" })).toThrow(/HERALD_TICKET_SECRET/);
    expect(() => loadConfig({ REDIS_URL: "redis://x", HERALD_AUTH_MODE: "webhook", HERALD_WEBHOOK_URL: "http://auth", HERALD_TOKEN_SECRET: "x".repeat(32) })).toThrow(/HERALD_PUBLISH_KEYS/);
    expect(() => loadConfig({ HERALD_AFFINITY_CONFIGMAP: "affinity" })).toThrow(/POD_NAMESPACE/);
  });

  it("puts the node id into {node} of the socket path and public URL", () => {
    const c = loadConfig({ HERALD_NODE_ID: "push-3", HERALD_SOCKET_PATH: "/n/{node}/socket.io", HERALD_PUBLIC_URL: "https://{node}.push.example.com/" });
    expect(c.socketPath).toBe("/n/push-3/socket.io");
    expect(c.publicUrl).toBe("https://push-3.push.example.com");
  });

  it("takes a listen backlog, 4096 by default, and refuses one that is not a positive integer", () => {
    expect(loadConfig({}).listenBacklog).toBe(4096);
    expect(loadConfig({ HERALD_LISTEN_BACKLOG: "20000" }).listenBacklog).toBe(20000);
    expect(() => loadConfig({ HERALD_LISTEN_BACKLOG: "0" })).toThrow(/HERALD_LISTEN_BACKLOG/);
    expect(() => loadConfig({ HERALD_LISTEN_BACKLOG: "lots" })).toThrow(/HERALD_LISTEN_BACKLOG/);
  });

  it("reads a full cluster configuration", () => {
    const c = loadConfig({
      REDIS_URL: "rediss://u:p@a:7000,rediss://b:7001",
      REDIS_MODE: "cluster",
      HERALD_AUTH_MODE: "ticket",
      HERALD_TICKET_SECRET: "s".repeat(32),
      HERALD_TOKEN_SECRET: "t".repeat(32),
      HERALD_PUBLISH_KEYS: "k1, k2",
      HERALD_AFFINITY_CONFIGMAP: "ns/herald-affinity",
    });
    expect(c.redis).toEqual({ urls: ["rediss://u:p@a:7000", "rediss://b:7001"], mode: "cluster", tlsCaFile: undefined });
    expect(c.publishKeys.keys).toEqual(["k1", "k2"]);
    expect(c.affinity).toEqual({ kind: "configmap", namespace: "ns", name: "herald-affinity", key: "affinity.json" });
  });
});
