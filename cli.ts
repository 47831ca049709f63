// `herald <command>`: declares the commands; each one's work lives in cli/ (or in the component it starts).
// Exit codes are in cli/exit.ts and docs/cli.md.
import { Command, CommanderError, Option } from "commander";
import { EXIT, run } from "./cli/exit.js";
import { DEFAULT_URL } from "./cli/http.js";

const program = new Command("herald")
  .description("Targeted WebSocket push to users at scale: push nodes, the PushCluster operator, and tools to try them.")
  .version(process.env.npm_package_version ?? "0.1.0", "-V, --version")
  .showHelpAfterError("(add --help for usage)")
  .exitOverride();

const url = () => new Option("--url <url>", "a push node (or the load balancer in front)").env("HERALD_URL").default(DEFAULT_URL);
const json = () => new Option("--json", "print JSON for scripts");
const loginOptions = (c: Command) =>
  c
    .addOption(url())
    .option("--ticket <jwt>", "log in with this ticket (ticket mode)")
    .addOption(new Option("--ticket-secret <secret>", "sign a ticket for the user with this secret (ticket mode); without it, a dev login {userId}").env("HERALD_TICKET_SECRET"));

program.commandsGroup("Run Herald:");
program
  .command("push-node")
  .description("run a push node, configured by environment variables (README; check them with `herald check-config`)")
  .action(async () => {
    await import("./push-node/main.js");
  });
program
  .command("operator")
  .description("run the PushCluster operator against the cluster of $KUBECONFIG (or in-cluster)")
  .option("--namespace <ns>", "watch PushClusters in this namespace only (default: $HERALD_WATCH_NAMESPACE, else all)")
  .action(async () => {
    await import("./operator/main.js");
  });

program.commandsGroup("Use a running node:");
loginOptions(program.command("login").description("log a user in; print the token and the node assigned").argument("[user]", "user id"))
  .addOption(json())
  .action((user, o) => run("login", async () => (await import("./cli/login.js")).loginCommand(user, o)));
loginOptions(program.command("listen").description("log in, print messages as they arrive and acknowledge them, resume after a disconnect (Ctrl-C stops)").argument("[user]", "user id"))
  .option("--device <id>", "device id: the node keeps an acknowledged position per device", "cli")
  .option("--count <n>", "stop after n messages")
  .addOption(json())
  .action((user, o) => run("listen", async () => (await import("./cli/listen.js")).listenCommand(user, o)));
program
  .command("publish")
  .description("publish one message to the users named, or NDJSON messages from stdin in batches")
  .argument("[users...]", "user ids (none: read one message per line from stdin)")
  .addOption(url())
  .addOption(new Option("--key <key>", "publish key (default: the embedded node's dev-publish-key)").env("HERALD_PUBLISH_KEY"))
  .option("--data <json>", "the message's data, as JSON")
  .option("--text <string>", "the message's data, a string")
  .option("--event <name>", "event name (default: message)")
  .option("--idempotency-key <key>", "publishing twice with one key stores the message once")
  .option("--batch <n>", "messages per request when reading stdin", "500")
  .option("--progress", "show the progress bar even when stderr is not a terminal")
  .option("--no-progress", "never show the progress bar")
  .addOption(json())
  .addHelpText("after", '\nstdin: one JSON message per line, as POST /v1/publish takes it: {"to": ["alice"], "data": {...}, "event"?: "...", "idempotencyKey"?: "..."}')
  .action((users, o) => run("publish", async () => (await import("./cli/publish.js")).publishCommand(users, o)));
program
  .command("status")
  .description("the cluster as a node sees it: nodes, state, sockets, users, message rates, affinity version")
  .addOption(url())
  .addOption(json())
  .action((o) => run("status", async () => (await import("./cli/status.js")).statusCommand(o)));

program.commandsGroup("Set-up:");
program
  .command("ticket")
  .description("sign a test ticket (HS256 JWT, sub = user) as a business backend would")
  .argument("<user>", "user id")
  .addOption(new Option("--secret <secret>", "the nodes' HERALD_TICKET_SECRET").env("HERALD_TICKET_SECRET"))
  .option("--ttl <seconds>", "lifetime", "300")
  .option("--issuer <iss>", "iss claim (when the nodes check HERALD_TICKET_ISSUER)")
  .option("--audience <aud>", "aud claim (when the nodes check HERALD_TICKET_AUDIENCE)")
  .addOption(json())
  .action((user, o) => run("ticket", async () => (await import("./cli/ticket.js")).ticketCommand(user, o)));
program
  .command("check-config")
  .description("check a push node's configuration (the environment variables) and list every problem at once")
  .option("--env-file <file>", "check the variables in this file (KEY=value lines) instead of the environment")
  .addOption(json())
  .action((o) => run("check-config", async () => (await import("./cli/check-config.js")).checkConfigCommand(o)));

program.addHelpText("after", "\nDevelopment tools (not in the image): npm run cluster, npm run sim (node dist/dev/cli.js --help).\nExit codes: 0 ok, 64 usage, 65 input refused, 69 node unreachable or unavailable, 77 credentials refused, 78 invalid configuration, 1 other (docs/cli.md).");

try {
  if (process.argv.length <= 2) {
    program.outputHelp({ error: true });
    process.exit(EXIT.USAGE);
  }
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
  throw err;
}
