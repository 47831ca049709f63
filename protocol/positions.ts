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

/**
 * Compares two inbox offsets ("<ms>-<seq>"): ms first, then seq, numerically. Exact for any number of
 * digits (compared as digit strings), a missing seq counts as 0; called several times per delivered
 * message, so it compares in place without splitting or allocating.
 */
export function compareOffsets(a: string, b: string): number {
  const ad = a.indexOf("-");
  const bd = b.indexOf("-");
  const aEnd = ad === -1 ? a.length : ad;
  const bEnd = bd === -1 ? b.length : bd;
  return compareDigits(a, 0, aEnd, b, 0, bEnd) || compareDigits(a, ad === -1 ? a.length : ad + 1, a.length, b, bd === -1 ? b.length : bd + 1, b.length);
}

/** Compares the integers written in a[as, ae) and b[bs, be), without leading zeros as Redis writes them; an empty run is 0. */
function compareDigits(a: string, as: number, ae: number, b: string, bs: number, be: number): number {
  if (as === ae) return compareDigits("0", 0, 1, b, bs, be);
  if (bs === be) return compareDigits(a, as, ae, "0", 0, 1);
  const al = ae - as;
  const bl = be - bs;
  if (al !== bl) return al < bl ? -1 : 1;
  for (let i = 0; i < al; i++) {
    const d = a.charCodeAt(as + i) - b.charCodeAt(bs + i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Whether a value received from the other side is a well-formed position. */
export function isPosition(v: unknown): v is Position {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p.epoch === "string" && p.epoch.length > 0 && typeof p.offset === "string" && OFFSET_PATTERN.test(p.offset);
}
