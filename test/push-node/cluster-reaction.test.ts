// The node's pure decisions about its cluster: what an affinity change asks of it, and readiness.
import { describe, expect, it } from "vitest";
import type { AffinityDocument } from "../../protocol/affinity-document.js";
import { assign } from "../../protocol/assign.js";
import { reactToAffinity, readiness } from "../../push-node/cluster/reaction.js";

const node = (id: string, state: "active" | "draining" = "active") => ({ id, url: `http://${id}`, path: "/socket.io", state });
const doc = (nodes: ReturnType<typeof node>[], version = 1): AffinityDocument => ({ version, nodes, pins: {} });
const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);

describe("reactToAffinity", () => {
  it("takes the document's state on the first document without asking anyone to move", () => {
    const d = doc([node("a"), node("b")]);
    expect(reactToAffinity({ doc: d, first: true, nodeId: "a", state: "active", users, live: new Set(["a", "b"]) })).toEqual({ state: "active", reaction: { kind: "none" } });
  });

  it("drains once when the node is newly marked draining", () => {
    const d = doc([node("a", "draining"), node("b")]);
    expect(reactToAffinity({ doc: d, first: false, nodeId: "a", state: "active", users, live: new Set(["a", "b"]) })).toEqual({ state: "draining", reaction: { kind: "drain" } });
  });

  it("asks exactly the users now assigned to another live node to move when a node joins", () => {
    const live = new Set(["a", "b", "c"]);
    const before = doc([node("a"), node("b")]);
    const held = users.filter((u) => assign(u, before, live)?.id === "a");
    const after = doc([node("a"), node("b"), node("c")], 2);
    const r = reactToAffinity({ doc: after, first: false, nodeId: "a", state: "active", users: held, live });
    const expected = held.filter((u) => assign(u, after, live)?.id === "c");
    expect(expected.length).toBeGreaterThan(0);
    expect(r).toEqual({ state: "active", reaction: { kind: "move", users: expected } });
  });

  it("does nothing when no held user's assignment changed, or the node is not in the document", () => {
    const d = doc([node("a")]);
    expect(reactToAffinity({ doc: d, first: false, nodeId: "a", state: "active", users, live: new Set(["a"]) }).reaction).toEqual({ kind: "none" });
    expect(reactToAffinity({ doc: d, first: false, nodeId: "z", state: "active", users, live: new Set(["a"]) }).reaction).toEqual({ kind: "none" });
  });
});

describe("readiness", () => {
  const base = { usesRedis: true, lastBeatOkAt: 10_000, now: 12_000, nodeTtlMs: 3000, affinityLoaded: true, accepting: true };
  it("is ready when the store answered within the node TTL, a document is loaded and the node accepts", () => {
    expect(readiness(base)).toEqual({ ready: true, checks: { store: true, affinity: true, accepting: true } });
  });
  it("names each failing check", () => {
    expect(readiness({ ...base, now: 14_000 })).toEqual({ ready: false, checks: { store: false, affinity: true, accepting: true } });
    expect(readiness({ ...base, affinityLoaded: false }).checks.affinity).toBe(false);
    expect(readiness({ ...base, accepting: false }).ready).toBe(false);
    expect(readiness({ ...base, usesRedis: false, lastBeatOkAt: 0 }).checks.store).toBe(true);
  });
});
