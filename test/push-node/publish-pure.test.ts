// Pure pieces of exact data and idempotency: the JSON check (depth, JSON-ness, no copying) and RFC 8785.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULT_MAX_DEPTH, exceedsDepth, jsonProblem } from "../../push-node/publish/json-value.js";
import { canonicalJson, messageDigest } from "../../push-node/publish/canonical-json.js";

const nested = (depth: number) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
};

describe("JSON check", () => {
  it("counts depth and stops at the limit without recursion, whatever the depth", () => {
    expect(jsonProblem(nested(64), DEFAULT_MAX_DEPTH)).toBeNull();
    expect(jsonProblem(nested(65), DEFAULT_MAX_DEPTH)).toEqual({ kind: "too_deep", depth: 65 });
    const deep = JSON.parse("[".repeat(200_000) + "]".repeat(200_000));
    expect(jsonProblem(deep, 64)).toMatchObject({ kind: "too_deep" });
    expect(exceedsDepth(deep, 64)).toBe(true);
    expect(exceedsDepth(nested(64), 64)).toBe(false);
    expect(jsonProblem(1, 0)).toBeNull();
    expect(jsonProblem([], 0)).toMatchObject({ kind: "too_deep" });
  });

  it("takes own __proto__ and constructor keys as data, and refuses what JSON cannot carry", () => {
    expect(jsonProblem(JSON.parse('{"__proto__":{"x":1},"constructor":{"prototype":2},"y":2}'), 64)).toBeNull();
    expect(jsonProblem(Object.create(null), 64)).toBeNull();
    for (const bad of [NaN, Infinity, undefined, () => 1, new Date(0), new Map(), 1n, Symbol("s")]) expect(jsonProblem({ a: [bad] }, 64)).toMatchObject({ kind: "not_json", path: ".a[0]" });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(jsonProblem(cycle, 64)).toMatchObject({ kind: "not_json", what: "a cycle" });
  });
});

describe("canonical JSON (RFC 8785)", () => {
  it("writes the RFC's examples", () => {
    const input = '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}';
    expect(canonicalJson(JSON.parse(input))).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
    const keys = JSON.parse('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}');
    // (read the order from the text: a parsed object would list the integer-like key "1" first)
    const order = [...canonicalJson(keys).matchAll(/:"([^"]+)"/g)].map((m) => m[1]);
    expect(order).toEqual(["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"]);
    expect(canonicalJson(JSON.parse('{"__proto__":{"b":1,"a":2},"-0":-0}'))).toBe('{"-0":0,"__proto__":{"a":2,"b":1}}');
  });

  it("is the same for any key order and equal after parsing", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
        const reordered = JSON.parse(JSON.stringify(v), (_k, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).reverse()) : x));
        expect(canonicalJson(reordered)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it("gives a message digest that ignores recipient order and repeats but not data, event or recipients", () => {
    const base = messageDigest({ to: ["alice", "bob"], event: "message", data: { v: "first", n: 1 } });
    expect(messageDigest({ to: ["bob", "alice", "bob"], event: "message", data: { n: 1, v: "first" } })).toBe(base);
    expect(messageDigest({ to: ["alice", "bob"], event: "message", data: { v: "second", n: 1 } })).not.toBe(base);
    expect(messageDigest({ to: ["alice"], event: "message", data: { v: "first", n: 1 } })).not.toBe(base);
    expect(messageDigest({ to: ["alice", "bob"], event: "other", data: { v: "first", n: 1 } })).not.toBe(base);
    expect(messageDigest({ to: ["alice", "bob"], event: "message", data: JSON.parse('{"v":"first","n":1,"__proto__":{}}') })).not.toBe(base);
  });
});
