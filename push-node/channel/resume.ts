// Where a channel starts in its user's inbox. Pure.
import { START, compareOffsets, type Position } from "../../protocol/positions.js";

/**
 * 1. The position the client gave (auth.since) wins.
 * 2. Without a device id, the channel is live only (plain Socket.IO semantics: at most once).
 * 3. A known device resumes after its own last acknowledgement.
 * 4. A new device gets what no device of the user acknowledged: after the furthest ack in this epoch,
 *    or the whole inbox when there is none.
 * Returns null for "live only".
 */
export function resumeFrom(given: Position | null, device: string | null, acks: Record<string, Position>, epoch: string | null): Position | null {
  if (given) return given;
  if (device === null) return null;
  const own = acks[device];
  if (own) return own;
  if (epoch === null) return null;
  let furthest: string = START;
  for (const a of Object.values(acks)) if (a.epoch === epoch && compareOffsets(a.offset, furthest) > 0) furthest = a.offset;
  return { epoch, offset: furthest };
}
