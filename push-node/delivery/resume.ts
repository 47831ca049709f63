// Where a channel starts in its user's inbox. Pure.
import { START, compareOffsets, type Position } from "../../protocol/positions.js";

/** Where the user's inbox stood when the login issued the token (epoch null: the user had no inbox). */
export interface LoginPosition {
  epoch: string | null;
  offset: string;
}

/**
 * 1. The position the client gave (auth.since) wins.
 * 2. Without a device id: from the login position the token carries — every message since the login.
 *    When the user had no inbox at login, the whole inbox of now (it was created since). Without a
 *    login position (a token from an older node), live only.
 * 3. A known device resumes after its own last acknowledgement.
 * 4. A new device gets what no device of the user acknowledged: after the furthest ack in this epoch,
 *    or the whole inbox when there is none.
 * Returns null for "live only".
 */
export function resumeFrom(given: Position | null, device: string | null, acks: ReadonlyMap<string, Position>, epoch: string | null, login: LoginPosition | null = null): Position | null {
  if (given) return given;
  if (device === null) {
    if (!login) return null;
    if (login.epoch !== null) return { epoch: login.epoch, offset: login.offset };
    return epoch === null ? null : { epoch, offset: START };
  }
  const own = acks.get(device); // a Map: a device named "constructor" or "__proto__" is just a name
  if (own) return own;
  if (epoch === null) return null;
  let furthest: string = START;
  for (const a of acks.values()) if (a.epoch === epoch && compareOffsets(a.offset, furthest) > 0) furthest = a.offset;
  return { epoch, offset: furthest };
}
