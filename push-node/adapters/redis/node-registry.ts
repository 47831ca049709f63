// The Redis home of NodeRegistry lives in common/ (common/node-registry.ts): the operator reads the
// registry through the same code as the nodes.
export { RedisNodeRegistry } from "../../../common/node-registry.js";
