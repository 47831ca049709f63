// The package's main entry: what a business server needs to publish, and the shared types.
export { createPublisher, type HeraldPublisher, type PublisherOptions } from "./publisher-library.js";
export { PublishError, type PublishRequest, type PublishResult } from "./publisher.js";
export { StoreUnavailableError } from "./publish/store-unavailable.js";
export type { Pushed } from "./delivery/channel-server.js";
export type { AffinityDocument, AffinityNode } from "../protocol/affinity-document.js";
export { assign } from "../protocol/assign.js";
