// Live messages for a user held here, in inbox order (the pure rules in live-order.ts): a message that
// follows a hole waits FILL_DELAY_MS, then the hole is filled from the inbox; after Redis came back, what
// the inbox got meanwhile is read and offered the same way.
import type { Logger } from "pino";
import { START, compareOffsets } from "../../protocol/positions.js";
import type { InboxHead, UserStore } from "../ports.js";
import { frameOf, type Frame } from "./channel.js";
import type { FanOut } from "./fan-out.js";
import { giveUp, offer } from "./live-order.js";
import type { UserLink } from "./user-links.js";

/** Inbox entries read per round trip (replay, hole filling, catching up). */
export const PAGE = 200;
const FILL_DELAY_MS = 100;

export class LiveDelivery {
  constructor(private readonly store: UserStore, private readonly fanOut: FanOut, private readonly log: Logger) {}

  /** A live message for a user held here: out to the user's sockets in order, or held behind a hole. */
  offer(user: string, link: UserLink, f: Frame): void {
    if (!link.order) {
      link.beforeAttach.push(f);
      return;
    }
    for (const p of offer(link.order, { epoch: f.epoch, offset: f.offset, prev: f.prev, item: f })) this.fanOut.toSockets(link, p);
    if (link.order.held.length && !link.fillTimer) link.fillTimer = setTimeout(() => void this.fill(user, link), FILL_DELAY_MS);
  }

  /** A hole stayed open: read what is missing from the inbox, then give up on what cannot be found. */
  private async fill(user: string, link: UserLink): Promise<void> {
    link.fillTimer = null;
    const order = link.order!;
    if (!order.held.length || link.released) return;
    try {
      const entries = await this.store.read(user, order.tail, order.held.length + PAGE);
      for (const e of entries) {
        const p = frameOf(e.message, order.epoch!, e.offset, e.prev);
        for (const r of offer(order, { epoch: p.epoch, offset: p.offset, prev: p.prev, item: p })) this.fanOut.toSockets(link, r);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "could not fill a hole from the inbox");
    }
    for (const p of giveUp(order)) this.fanOut.toSockets(link, p);
  }

  /** After a re-attach found the inbox at `head`: push what it got past what this node sent (a new epoch from its start). */
  async catchUp(user: string, link: UserLink, head: InboxHead): Promise<void> {
    const order = link.order!;
    if (head.epoch === null || (head.epoch === order.epoch && compareOffsets(head.last, order.tail) <= 0)) return;
    const epoch = head.epoch;
    let after = epoch === order.epoch ? order.tail : START;
    for (;;) {
      const page = await this.store.read(user, after, PAGE);
      for (const e of page) {
        const p = frameOf(e.message, epoch, e.offset, e.prev);
        for (const r of offer(order, { epoch: p.epoch, offset: p.offset, prev: p.prev, item: p })) this.fanOut.toSockets(link, r);
      }
      if (page.length < PAGE || link.released) return;
      after = page[page.length - 1]!.offset;
    }
  }
}
