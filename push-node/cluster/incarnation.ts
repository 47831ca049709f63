// A node's incarnation names one run of its process: it changes at every start, and orders runs in time,
// so that a presence entry left by a run that died can be told from one made by the run that replaced it.
import { randomBytes } from "node:crypto";

export function newIncarnation(now = Date.now()): string {
  return `${now.toString(36)}.${randomBytes(3).toString("hex")}`;
}

function startedAt(incarnation: string): number {
  return parseInt(incarnation.split(".")[0] ?? "", 36) || 0;
}

/**
 * Should a message go to `node` for a presence entry made by `recorded`? Yes unless the registry shows the
 * node running a later incarnation (the one that recorded the user is dead). An unknown or lagging view
 * still sends: a needless stream write is cheap, a missed live delivery is not. Pure.
 */
export function presenceIsCurrent(recorded: string, known: string | undefined): boolean {
  if (known === undefined || known === recorded) return true;
  return startedAt(recorded) >= startedAt(known);
}
