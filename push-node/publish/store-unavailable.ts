// The one publish failure worth retrying: the store (Redis) failed part way. The message may have reached
// some recipients' inboxes; resending it with `idempotencyKey` completes it exactly once.

export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  readonly code = "STORE_UNAVAILABLE";
  /**
   * @param id the message's id (the one recipients may already hold)
   * @param idempotencyKey the key to resend with: the publisher's own, or else the id itself
   */
  constructor(readonly id: string, readonly idempotencyKey: string, cause: unknown) {
    super(`the message could not be stored completely (${(cause as Error)?.message ?? String(cause)}); resend it with idempotencyKey ${JSON.stringify(idempotencyKey)}`);
  }
}
