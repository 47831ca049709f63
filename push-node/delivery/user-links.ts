// The users this node holds, each with its link: the user's sockets here, the handshakes in progress, the
// live order of its messages. The first handshake of a user records the presence (store `attach`, atomic
// with the inbox head, where the live order starts); the user's last socket leaving removes it.
import type { Socket } from "socket.io";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";
import type { UserStore } from "../ports.js";
import type { Frame } from "./channel.js";
import type { LiveDelivery } from "./live.js";
import { newOrder, type OrderState } from "./live-order.js";

export interface UserLink {
  sockets: Set<Socket>;
  /** Handshakes that recorded the user and whose socket has not connected (or failed) yet. */
  handshakes: number;
  /** The live order, from the inbox head that the presence was recorded with (null until then). */
  order: OrderState<Frame> | null;
  /** Live messages that arrived before the presence was recorded; offered once it is. */
  beforeAttach: Frame[];
  /** Settles once the presence is recorded (rejects when it could not be). */
  attached: Promise<void>;
  fillTimer: NodeJS.Timeout | null;
  /** No longer held here (its user left, or its presence could not be recorded). */
  released: boolean;
}

export interface UserLinksDeps {
  nodeId: string;
  incarnation: string;
  store: UserStore;
  live: LiveDelivery;
  metrics: Metrics;
  log: Logger;
}

export class UserLinks {
  private readonly links = new Map<string, UserLink>();

  constructor(private readonly deps: UserLinksDeps) {}

  get size(): number {
    return this.links.size;
  }
  users(): IterableIterator<string> {
    return this.links.keys();
  }
  values(): IterableIterator<UserLink> {
    return this.links.values();
  }
  get(user: string): UserLink | undefined {
    return this.links.get(user);
  }

  /** The user's link, created (and the presence recorded) when the user is new here. */
  linkFor(user: string): UserLink {
    const existing = this.links.get(user);
    if (existing) return existing;
    const created: UserLink = { sockets: new Set(), handshakes: 0, order: null, beforeAttach: [], attached: Promise.resolve(), fillTimer: null, released: false };
    created.attached = this.attach(user, created).catch((err: Error) => {
      if (this.links.get(user) === created) this.links.delete(user);
      created.released = true;
      this.deps.metrics.users.set(this.links.size);
      throw err;
    });
    this.links.set(user, created);
    this.deps.metrics.users.set(this.links.size);
    return created;
  }

  private async attach(user: string, link: UserLink): Promise<void> {
    const head = await this.deps.store.attach(user, this.deps.nodeId, this.deps.incarnation);
    link.order = newOrder(head.epoch, head.last);
    for (const p of link.beforeAttach.splice(0)) this.deps.live.offer(user, link, p);
  }

  /** Forgets a link that holds no socket and no handshake in progress, and removes the user's presence. */
  release(user: string, link: UserLink): void {
    if (link.sockets.size || link.handshakes > 0 || this.links.get(user) !== link) return;
    this.links.delete(user);
    link.released = true;
    if (link.fillTimer) clearTimeout(link.fillTimer);
    this.deps.metrics.users.set(this.links.size);
    // Only if the user has not come back meanwhile: a new link's presence (same node, same incarnation)
    // was written after ours, and removing it would stop live delivery to the returning user.
    const { store, nodeId, incarnation, log } = this.deps;
    void link.attached
      .then(() => (this.links.has(user) ? undefined : store.detach(user, nodeId, incarnation)))
      .catch((err: Error) => log.warn({ err: err.message }, "could not remove a user's presence"));
  }

  /**
   * Redis came back (a reconnect, maybe a restart that lost data): record again that this node holds its
   * users (presence may be gone, and without it nothing is pushed here), then push what their inboxes got
   * meanwhile. A new epoch goes out from its start; the sockets' own dedupe drops what they already had.
   */
  async reattach(): Promise<void> {
    const held = [...this.links].filter(([, link]) => link.order !== null);
    for (let i = 0; i < held.length; i += 100)
      await Promise.all(held.slice(i, i + 100).map(([user, link]) => this.catchUp(user, link).catch((err: Error) => this.deps.log.warn({ err: err.message }, "could not re-attach a user"))));
  }

  private async catchUp(user: string, link: UserLink): Promise<void> {
    const head = await this.deps.store.attach(user, this.deps.nodeId, this.deps.incarnation);
    await this.deps.live.catchUp(user, link, head);
  }
}
