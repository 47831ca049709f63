// Entry of `herald push-node`: load the configuration, start the node, stop it on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "../common/log.js";
import { startPushNode } from "./node.js";

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`herald push-node: ${err.message}\n`);
    process.exit(78);
  }
  throw err;
}
const log = createLogger(config.logLevel, config.nodeId);
try {
  const node = await startPushNode(config, log);
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 1) process.exit(1);
    log.info({ signal }, "stopping");
    node.shutdown().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (err) {
  log.fatal({ err: (err as Error).message }, "push node failed to start");
  process.exit(1);
}
