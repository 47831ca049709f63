// `herald listen`: logs in through the client SDK, prints each message as it arrives, acknowledges it,
// and resumes after a disconnect, until interrupted (or --count messages).
import { createClient, type HeraldError, type HeraldMessage } from "../client/index.js";
import { EXIT, exitForStatus, type ExitCode } from "./exit.js";
import { DEFAULT_URL, print } from "./http.js";
import { loginBody, type LoginOptions } from "./login.js";

export interface ListenOptions extends LoginOptions {
  device: string;
  count?: string;
  json?: boolean;
}

export function formatMessage(m: HeraldMessage, json: boolean): string {
  if (json) return JSON.stringify({ id: m.id, event: m.event, data: m.data, ts: m.ts, epoch: m.epoch, offset: m.offset });
  return `${new Date(m.ts).toISOString()} ${m.event} ${JSON.stringify(m.data)}`;
}

export async function listenCommand(user: string | undefined, o: ListenOptions): Promise<number> {
  const limit = o.count === undefined ? Infinity : Number(o.count);
  await loginBody(user, o); // usage errors before connecting
  let received = 0;
  let code: ExitCode = EXIT.OK;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const client = createClient({
    url: o.url ?? DEFAULT_URL,
    deviceId: o.device,
    credentials: async () => ({ body: await loginBody(user, o) }),
    onMessage: (m) => {
      print(formatMessage(m, o.json === true));
      // close() from inside the handler would skip this message's ack: stop once it is processed
      if (++received >= limit) setImmediate(stop);
    },
  });
  client.on("connected", (c) => process.stderr.write(`listening as ${c.userId} on node ${c.node.id} (${c.node.url})\n`));
  client.on("disconnected", (d) => process.stderr.write(`disconnected (${d.reason}); retrying in ${d.retryInMs} ms\n`));
  client.on("gap", (g) => process.stderr.write(`messages may be missing (${g.reason})\n`));
  client.on("error", (e: HeraldError) => {
    process.stderr.write(`error ${e.code}: ${e.message}\n`);
    // A refusal does not fix itself: stop with the exit code it calls for.
    if (!e.retryable || e.code === "LOGIN_REFUSED") {
      code = e.status ? exitForStatus(e.status) : EXIT.FAILURE;
      stop();
    }
  });
  client.on("state", (s) => {
    if (s === "failed") {
      if (code === EXIT.OK) code = EXIT.REFUSED;
      stop();
    }
  });
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  client.start();
  await stopped;
  await client.close(); // the last acknowledgement is sent before closing
  return code;
}
