// Public API of the Kubernetes simulator.
export { startSimulator, type Simulator, type SimulatorOptions, type KubeconfigRequest } from "./simulator.js";
export type { AuditEntry, AuditQuery } from "./audit.js";
export type { FaultRule, WatchCutFilter } from "./faults.js";
export type { Identity } from "./rbac.js";
