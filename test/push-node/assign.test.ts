import { describe, expect, it } from "vitest";
import { assign } from "../../protocol/assign.js";
import { parseAffinityDocument, type AffinityDocument } from "../../protocol/affinity-document.js";

const node = (id: string, state: "active" | "draining" = "active") => ({ id, url: `http://${id}.test`, path: `/n/${id}/socket.io`, state });
const doc = (ids: string[], pins: Record<string, string> = {}): AffinityDocument => ({ version: 1, nodes: ids.map((i) => node(i)), pins });
const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

describe("assign", () => {
  it("spreads users over the active, alive nodes", () => {
    const d = doc(["a", "b", "c", "d"]);
    const counts = new Map<string, number>();
    for (const u of users) {
      const n = assign(u, d, new Set(["a", "b", "c", "d"]))!;
      counts.set(n.id, (counts.get(n.id) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(["a", "b", "c", "d"]);
    for (const c of counts.values()) expect(c).toBeGreaterThan(2500 * 0.9), expect(c).toBeLessThan(2500 * 1.1);
  });

  it("moves only about 1/(n+1) of the users when a node joins, and only to the new node", () => {
    const before = doc(["a", "b", "c", "d"]);
    const after = doc(["a", "b", "c", "d", "e"]);
    const aliveBefore = new Set(["a", "b", "c", "d"]);
    const aliveAfter = new Set(["a", "b", "c", "d", "e"]);
    let moved = 0;
    for (const u of users) {
      const x = assign(u, before, aliveBefore)!.id;
      const y = assign(u, after, aliveAfter)!.id;
      if (x !== y) {
        moved++;
        expect(y).toBe("e");
      }
    }
    expect(moved / users.length).toBeGreaterThan(0.2 * 0.9);
    expect(moved / users.length).toBeLessThan(0.2 * 1.1);
  });

  it("honours pins, unless the pinned node cannot take users", () => {
    const d = doc(["a", "b"], { alice: "b" });
    expect(assign("alice", d, new Set(["a", "b"]))!.id).toBe("b");
    expect(assign("alice", d, new Set(["a"]))!.id).toBe("a");
    const draining: AffinityDocument = { ...d, nodes: [node("a"), node("b", "draining")] };
    expect(assign("alice", draining, new Set(["a", "b"]))!.id).toBe("a");
  });

  it("never picks a draining or dead node, and returns null when none can take the user", () => {
    const d: AffinityDocument = { version: 1, nodes: [node("a", "draining"), node("b")], pins: {} };
    for (const u of users.slice(0, 500)) expect(assign(u, d, new Set(["a", "b"]))!.id).toBe("b");
    expect(assign("x", d, new Set(["a"]))).toBeNull();
    expect(assign("x", doc([]), new Set())).toBeNull();
  });

  it("only moves the users of a node that died", () => {
    const d = doc(["a", "b", "c"]);
    for (const u of users.slice(0, 2000)) {
      const x = assign(u, d, new Set(["a", "b", "c"]))!.id;
      const y = assign(u, d, new Set(["a", "c"]))!.id;
      if (x !== "b") expect(y).toBe(x);
    }
  });
});

describe("affinity document", () => {
  it("parses the documented format with defaults", () => {
    const d = parseAffinityDocument(JSON.stringify({ version: 3, nodes: [{ id: "push-0", url: "https://push.example.com" }], pins: { bob: "push-0" } }));
    expect(d.nodes[0]).toEqual({ id: "push-0", url: "https://push.example.com", path: "/socket.io", state: "active" });
    expect(d.pins).toEqual({ bob: "push-0" });
  });

  it("rejects bad documents with a message that says what is wrong", () => {
    // a user literally named "__proto__" keeps its pin (zod alone would drop the key)
    const proto = parseAffinityDocument('{"version": 1, "nodes": [{"id": "push-0", "url": "http://a"}, {"id": "push-1", "url": "http://b"}], "pins": {"__proto__": "push-1", "bob": "push-0"}}');
    expect(Object.keys(proto.pins).sort()).toEqual(["__proto__", "bob"]);
    expect(assign("__proto__", proto, new Set(["push-0", "push-1"]))?.id).toBe("push-1");
    expect(Object.getPrototypeOf(proto.pins)).toBe(Object.prototype);
    expect(() => parseAffinityDocument('{"version": 1, "nodes": [], "pins": {"__proto__": 5}}')).toThrow(/__proto__/);
    expect(() => parseAffinityDocument("{")).toThrow(/not JSON/);
    expect(() => parseAffinityDocument(JSON.stringify({ version: -1, nodes: [] }))).toThrow(/version/);
    expect(() => parseAffinityDocument(JSON.stringify({ version: 1, nodes: [{ id: "a", url: "ftp://x" }] }))).toThrow(/url/);
    expect(() => parseAffinityDocument(JSON.stringify({ version: 1, nodes: [{ id: "a", url: "http://x", state: "gone" }] }))).toThrow(/state/);
    expect(() => parseAffinityDocument(JSON.stringify({ version: 1, nodes: [{ id: "a", url: "http://x" }, { id: "a", url: "http://y" }] }))).toThrow(/unique/);
    expect(() => parseAffinityDocument(JSON.stringify({ version: 1, nodes: [], extra: 1 }))).toThrow(/extra/);
  });
});
