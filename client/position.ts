// Where a client stands in its user's inbox, and what to do with each message that arrives. Pure.
import { compareOffsets, type Position } from "../protocol/positions.js";

export { START, compareOffsets, isPosition, type Position } from "../protocol/positions.js";

/** Why the application may have missed messages. */
export type GapReason =
  /** Same inbox, but messages between the last processed one and the next are gone (past the inbox's
   * time to live or length, or Redis lost writes in a crash). */
  | "GAP"
  /** The inbox was lost and re-created (Redis restarted without its data, or the inbox expired). */
  | "EPOCH_CHANGED";

/** What to do with an incoming message. */
export type Verdict = { kind: "next" } | { kind: "duplicate" } | { kind: "gap"; reason: GapReason };

/**
 * Judges a message against the last processed position.
 * - no position yet: anything is next (a fresh start);
 * - at or before the position (same epoch): a duplicate, dropped;
 * - `prev` is the position: next;
 * - otherwise a gap (another epoch, or `prev` is not what was processed) — unless a gap from this
 *   position was already reported (`gapReported`), in which case the message starts the new run.
 */
export function classify(position: Position | null, m: Position & { prev: string }, gapReported = false): Verdict {
  if (!position) return { kind: "next" };
  if (m.epoch !== position.epoch) return gapReported ? { kind: "next" } : { kind: "gap", reason: "EPOCH_CHANGED" };
  if (compareOffsets(m.offset, position.offset) <= 0) return { kind: "duplicate" };
  if (m.prev === position.offset || gapReported) return { kind: "next" };
  return { kind: "gap", reason: "GAP" };
}
