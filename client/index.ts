// Herald's client SDK: exactly-once, in-order delivery of a user's messages on top of Socket.IO.
export { HeraldClient, createClient } from "./client.js";
export type { ClientState, ClientStats, GapEvent, HeraldClientEvents, HeraldClientOptions, HeraldMessage } from "./client.js";
export { HeraldError, loginRetryable, retryAfterMs, sessionTimes } from "./login.js";
export type { LoginCredentials, NodeAddress, Session } from "./login.js";
export { classify, compareOffsets, START } from "./position.js";
export type { GapReason, Position, Verdict } from "./position.js";
export { backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export { localStorageStore, memoryStore } from "./stores.js";
export type { PositionStore, StorageLike } from "./stores.js";
