// `herald check-config`: checks a push node's configuration (the environment, or an env file) and lists
// every problem at once, cross-field rules included. Exit 0 when valid, 78 when not.
import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { checkConfig } from "../push-node/config.js";
import { CliError, EXIT } from "./exit.js";
import { print } from "./http.js";

export function checkConfigCommand(o: { envFile?: string; json?: boolean }): number {
  let source: NodeJS.ProcessEnv = process.env;
  if (o.envFile) {
    try {
      source = parseEnv(readFileSync(o.envFile, "utf8"));
    } catch (err) {
      throw new CliError(EXIT.USAGE, `cannot read ${o.envFile}: ${(err as Error).message}`);
    }
  }
  const { config, problems } = checkConfig(source, () => "generated");
  const summary = config && {
    mode: config.redis ? `redis ${config.redis.mode}` : "embedded",
    auth: config.auth.mode,
    nodeId: config.nodeId,
    publicUrl: config.publicUrl,
    socketPath: config.socketPath,
    affinity: config.affinity.kind,
    tokenSecret: config.token.generated ? "random per process" : "set",
    publishKeys: config.publishKeys.generated ? "development key" : `${config.publishKeys.keys.length} key(s)`,
  };
  if (o.json) print(JSON.stringify({ valid: problems.length === 0, problems, config: summary }));
  else if (problems.length) {
    print(`${problems.length} problem${problems.length > 1 ? "s" : ""}:`);
    for (const p of problems) print(`  ${p.variable}${p.value === undefined ? "" : `=${JSON.stringify(p.value)}`}: ${p.message}`);
  } else {
    print("configuration is valid");
    for (const [k, v] of Object.entries(summary!)) print(`  ${k}: ${v}`);
  }
  return problems.length ? EXIT.CONFIG : EXIT.OK;
}
