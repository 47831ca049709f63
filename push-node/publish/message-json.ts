// A stored message's JSON: made once however many inboxes and node streams it goes to, and read back
// without parsing where only its time is wanted.
import type { StoredMessage } from "../ports.js";

const encodings = new WeakMap<StoredMessage, string>();

/** The message as JSON, "id" first (the store finds a message's entry by the start of its JSON), "ts" last. */
export function messageJson(message: StoredMessage): string {
  let json = encodings.get(message);
  if (json === undefined) encodings.set(message, (json = JSON.stringify(message)));
  return json;
}

/**
 * The message's `ts`, read from the end of its JSON: the publisher builds a message as {id, event, data, ts},
 * so ts is the last member and its digits end the text. Anything else is parsed in full.
 */
export function messageTs(json: string): number {
  const at = json.lastIndexOf(',"ts":');
  if (at > 0 && json.charCodeAt(json.length - 1) === 125 /* } */) {
    const ts = Number(json.slice(at + 6, -1));
    if (Number.isSafeInteger(ts) && ts >= 0) return ts;
  }
  return (JSON.parse(json) as StoredMessage).ts;
}
