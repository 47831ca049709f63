// Keeps one user's live messages in inbox order on a node. Messages for a user can reach a node out of
// order (two publishers append 5 and 6; 6's note arrives first) or twice (a publish retried with its
// idempotency key). Each carries its inbox offset and the offset before it (`prev`), so the node can
// emit in order, drop repeats, and hold back what follows a hole until the hole is filled from the inbox.
// Pure: state in, decisions out.
import { START, compareOffsets } from "../../protocol/positions.js";

export interface Placed<T> {
  epoch: string;
  offset: string;
  prev: string;
  item: T;
}

export interface OrderState<T> {
  epoch: string | null;
  /** The offset of the last message emitted (or known to precede everything still to come). */
  tail: string;
  /** Messages that follow a hole, sorted by offset. */
  held: Placed<T>[];
}

export function newOrder<T>(epoch: string | null, tail: string): OrderState<T> {
  return { epoch, tail, held: [] };
}

/** Offers one message; returns those that can be emitted now, in order. `s.held.length > 0` means a hole. */
export function offer<T>(s: OrderState<T>, m: Placed<T>): T[] {
  if (m.epoch !== s.epoch) {
    // The inbox was re-created (a new epoch): its messages start again from START.
    s.epoch = m.epoch;
    s.tail = START;
    s.held = s.held.filter((h) => h.epoch === m.epoch);
  }
  if (compareOffsets(m.offset, s.tail) <= 0) return [];
  if (!follows(m, s.tail)) {
    hold(s, m);
    return [];
  }
  s.tail = m.offset;
  return s.held.length ? [m.item, ...release(s)] : [m.item];
}

/** After a fill from the inbox could not close the hole (it was trimmed, or lost): emit what is held, in order. */
export function giveUp<T>(s: OrderState<T>): T[] {
  const out = s.held.map((h) => h.item);
  if (s.held.length) s.tail = s.held[s.held.length - 1]!.offset;
  s.held = [];
  return out;
}

function follows(m: Placed<unknown>, tail: string): boolean {
  // prev before tail: the inbox lost what this node already emitted (Redis rolled back); let the client see it.
  return m.prev === tail || compareOffsets(m.prev, tail) < 0;
}

function hold<T>(s: OrderState<T>, m: Placed<T>): void {
  const i = s.held.findIndex((h) => compareOffsets(h.offset, m.offset) >= 0);
  if (i === -1) s.held.push(m);
  else if (s.held[i]!.offset !== m.offset) s.held.splice(i, 0, m);
}

function release<T>(s: OrderState<T>): T[] {
  const out: T[] = [];
  while (s.held.length) {
    const h = s.held[0]!;
    if (compareOffsets(h.offset, s.tail) <= 0) s.held.shift();
    else if (follows(h, s.tail)) {
      s.held.shift();
      out.push(h.item);
      s.tail = h.offset;
    } else break;
  }
  return out;
}
