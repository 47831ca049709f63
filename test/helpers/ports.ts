// One home for free ports and condition polling, shared with the bench (which compiles from bench/ only).
export { freePort, until } from "../../bench/lib/ports.js";
