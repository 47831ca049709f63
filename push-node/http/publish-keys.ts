// The publish keys (HERALD_PUBLISH_KEYS): which one an Authorization header carries, compared in constant time.
import { timingSafeEqual } from "node:crypto";
import { Refusal } from "../refusal.js";

export class PublishKeys {
  private readonly keys: Buffer[];
  constructor(keys: readonly string[]) {
    this.keys = keys.map((k) => Buffer.from(k));
  }

  /** The index of the publish key `Authorization: Bearer <key>` carries; 401 UNAUTHORIZED without a known one. */
  check(authorization: string | undefined): number {
    const m = /^Bearer (.+)$/.exec(authorization ?? "");
    if (!m) throw new Refusal(401, "UNAUTHORIZED", "send Authorization: Bearer <publish key>");
    const given = Buffer.from(m[1]!);
    const i = this.keys.findIndex((k) => k.length === given.length && timingSafeEqual(k, given));
    if (i < 0) throw new Refusal(401, "UNAUTHORIZED", "unknown publish key");
    return i;
  }
}
