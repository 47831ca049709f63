// A message's frame is the packet Socket.IO itself would write: packetOf's text equals the encoder's for the
// Pushed {...message, epoch, offset, prev}, whatever the data; a message's time is read from the end of its
// JSON; a node-stream entry carries messages as JSON, and one in the format before it is still read.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Server } from "socket.io";
import { frame, frameOf, packetOf } from "../../push-node/delivery/channel.js";
import { messageJson, messageTs } from "../../push-node/ports.js";
import { entryEnvelopes, entryFields } from "../../push-node/adapters/redis/node-bus.js";
import type { Envelope, StoredMessage } from "../../push-node/ports.js";

const io = new Server();
/** What socket.emit("message", p) writes for p on the main namespace. */
const emitted = (p: unknown): string => io.encoder.encode({ type: 2, nsp: "/", data: ["message", p] })[0] as string;

describe("packetOf", () => {
  it("writes what socket.emit would, for any JSON data (own __proto__ keys, unicode, nesting)", () => {
    // data as a publish reads it: parsed from JSON text
    const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    const special = fc.constantFrom<unknown>(JSON.parse('{"__proto__":{"x":1},"constructor":2}'), "hé \"q\" \u2028 ,\"ts\":1}", { ts: 5, epoch: "x" }, null, 1e21, []);
    fc.assert(
      fc.property(fc.oneof(json, special), fc.string({ minLength: 1, maxLength: 12 }), fc.nat(), (data, event, ts) => {
        const m: StoredMessage = { id: "0b1c7a3e-0000-4000-8000-000000000000", event, data, ts };
        const f = frame(messageJson(m), "e1a2b3c4", "1700000000000-3", "1700000000000-2");
        expect(packetOf(f)).toBe(emitted({ ...m, epoch: f.epoch, offset: f.offset, prev: f.prev }));
        expect(packetOf(frameOf(m, f.epoch, f.offset, f.prev))).toBe(packetOf(f));
      }),
      { numRuns: 300 },
    );
  });
});

describe("messageTs", () => {
  it("reads ts from the end of a message the publisher built, whatever its data holds", () => {
    const m: StoredMessage = { id: "i", event: "message", data: { ts: 1, list: [{ ts: 2 }], s: ',"ts":3}' }, ts: 1700000000123 };
    expect(messageTs(messageJson(m))).toBe(1700000000123);
  });
  it("parses a message whose ts is not last", () => {
    expect(messageTs(JSON.stringify({ id: "i", ts: 42, event: "message", data: { a: 1, ts: 7 } }))).toBe(42);
    expect(messageTs(JSON.stringify({ ts: 42, data: [1, { b: ',"ts":9' }] }))).toBe(42);
  });
});

describe("node-stream entries", () => {
  const envelopes: Envelope[] = [
    { message: messageJson({ id: "a", event: "message", data: { n: 1 }, ts: 1 }), to: [{ user: "u1", epoch: "e", offset: "1-0", prev: "0-0" }] },
    { message: messageJson({ id: "b", event: "message", data: "two", ts: 2 }), to: [{ user: "u2", epoch: "e", offset: "2-0", prev: "1-0" }, { user: "u3", epoch: "f", offset: "5-0", prev: "4-0" }] },
  ];

  it("carry each message as its JSON, read back unchanged", () => {
    expect(entryEnvelopes(entryFields(envelopes))).toEqual(envelopes);
  });

  it("in the format before (one 'd' field, messages as objects) are read too", () => {
    const legacy = JSON.stringify(envelopes.map((e) => ({ message: JSON.parse(e.message) as unknown, to: e.to })));
    expect(entryEnvelopes(["d", legacy])).toEqual(envelopes);
  });
});
