// Positions in a user's inbox, shared by the push node and the client SDK. Pure and browser-safe.

/** A position in one user's inbox: `offset` ("<ms>-<seq>", a Redis stream id) within an inbox incarnation (`epoch`). */
export interface Position {
  epoch: string;
  offset: string;
}

/** The offset before the first message of an inbox. */
export const START = "0-0";

/** What an offset looks like on the wire (a Redis stream id with at most 15 digits on each side). */
export const OFFSET_PATTERN = /^\d{1,15}-\d{1,15}$/;

/** Compares two inbox offsets ("<ms>-<seq>"): ms first, then seq, numerically (as digit strings, so any length is exact). */
export function compareOffsets(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  if (am.length !== bm.length) return am.length - bm.length;
  if (am !== bm) return am < bm ? -1 : 1;
  if (as.length !== bs.length) return as.length - bs.length;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** Whether a value received from the other side is a well-formed position. */
export function isPosition(v: unknown): v is Position {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p.epoch === "string" && p.epoch.length > 0 && typeof p.offset === "string" && OFFSET_PATTERN.test(p.offset);
}
