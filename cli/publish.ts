// `herald publish`: one message to the users named, or NDJSON messages from stdin sent in batches,
// with a progress bar on stderr for large inputs.
import { fstatSync } from "node:fs";
import { createInterface } from "node:readline";
import { CliError, EXIT, exitForStatus, type ExitCode } from "./exit.js";
import { baseUrl, failWith, print, requestJson } from "./http.js";

export interface PublishOptions {
  url: string;
  key?: string;
  data?: string;
  text?: string;
  event?: string;
  idempotencyKey?: string;
  batch: string;
  progress?: boolean;
  json?: boolean;
}

export function publishKey(o: { key?: string }): string {
  return o.key ?? process.env.HERALD_PUBLISH_KEY ?? process.env.HERALD_PUBLISH_KEYS?.split(",")[0]?.trim() ?? "dev-publish-key";
}

/** The message the arguments describe. Pure. */
export function messageFromArgs(users: string[], o: PublishOptions): Record<string, unknown> {
  if (o.data !== undefined && o.text !== undefined) throw new CliError(EXIT.USAGE, "give --data or --text, not both");
  let data: unknown;
  if (o.text !== undefined) data = o.text;
  else if (o.data !== undefined) {
    try {
      data = JSON.parse(o.data);
    } catch {
      throw new CliError(EXIT.USAGE, `--data must be JSON (use --text for a plain string): ${o.data}`);
    }
  } else throw new CliError(EXIT.USAGE, "give the message with --data <json> or --text <string>");
  const m: Record<string, unknown> = { to: users, data };
  if (o.event) m.event = o.event;
  if (o.idempotencyKey) m.idempotencyKey = o.idempotencyKey;
  return m;
}

export interface Rejection {
  line: number;
  code: string;
  message: string;
}

/** A progress bar on stderr: by bytes when the input's size is known, else a count. */
function progressBar(enabled: boolean, totalBytes: number | null) {
  const started = Date.now();
  let last = 0;
  return {
    update(sent: number, bytes: number, force = false) {
      if (!enabled || (!force && Date.now() - last < 100)) return;
      last = Date.now();
      const rate = Math.round((sent * 1000) / Math.max(1, Date.now() - started));
      if (totalBytes) {
        const f = Math.min(1, bytes / totalBytes);
        const width = 30;
        const done = Math.round(f * width);
        process.stderr.write(`\r[${"#".repeat(done)}${"-".repeat(width - done)}] ${Math.round(f * 100)}% ${sent} messages, ${rate}/s `);
      } else process.stderr.write(`\r${sent} messages, ${rate}/s `);
    },
    end() {
      if (enabled) process.stderr.write("\n");
    },
  };
}

export async function publishCommand(users: string[], o: PublishOptions): Promise<number> {
  const url = `${baseUrl(o.url)}/v1/publish`;
  const headers = { authorization: `Bearer ${publishKey(o)}` };
  if (users.length) {
    const r = await requestJson("POST", url, messageFromArgs(users, o), headers);
    if (r.status !== 202) failWith("publish", r);
    print(o.json ? JSON.stringify(r.body) : `published ${r.body.id}${r.body.duplicate ? " (a duplicate of an earlier publish)" : ""}`);
    return EXIT.OK;
  }
  if (process.stdin.isTTY) throw new CliError(EXIT.USAGE, "name the users, or pipe NDJSON messages ({\"to\": [...], \"data\": ...} per line) into stdin");
  const batchSize = Number(o.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new CliError(EXIT.USAGE, `--batch must be a positive integer, not ${o.batch}`);
  let total: number | null = null;
  try {
    const st = fstatSync(0);
    if (st.isFile()) total = st.size;
  } catch {
    // not a file: count only
  }
  const bar = progressBar(o.progress ?? process.stderr.isTTY === true, total);
  const rejected: Rejection[] = [];
  let accepted = 0;
  let bytes = 0;
  let lineNo = 0;
  let batch: Array<{ line: number; m: unknown }> = [];
  let code: ExitCode = EXIT.OK;

  const flush = async () => {
    if (!batch.length) return;
    const sent = batch;
    batch = [];
    const r = await requestJson("POST", url, { messages: sent.map((b) => b.m) }, headers);
    if (!Array.isArray(r.body?.results)) {
      bar.end();
      failWith(`publish (after ${accepted} accepted; the batch starting at line ${sent[0]!.line})`, r);
    }
    (r.body.results as Array<{ id?: string; error?: { code: string; message: string; status: number } }>).forEach((res, i) => {
      if (res.error) {
        rejected.push({ line: sent[i]!.line, code: res.error.code, message: res.error.message });
        const c = exitForStatus(res.error.status);
        if (c === EXIT.UNAVAILABLE || code === EXIT.OK) code = c;
      } else accepted++;
    });
    bar.update(accepted + rejected.length, bytes);
  };

  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    lineNo++;
    bytes += Buffer.byteLength(line) + 1;
    if (!line.trim()) continue;
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch (err) {
      rejected.push({ line: lineNo, code: "INVALID_JSON", message: (err as Error).message });
      if (code === EXIT.OK) code = EXIT.REFUSED;
      continue;
    }
    batch.push({ line: lineNo, m });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  bar.update(accepted + rejected.length, bytes, true);
  bar.end();
  if (o.json) print(JSON.stringify({ accepted, rejected: rejected.length, errors: rejected }));
  else {
    for (const r of rejected.slice(0, 20)) process.stderr.write(`line ${r.line}: ${r.code}: ${r.message}\n`);
    if (rejected.length > 20) process.stderr.write(`... and ${rejected.length - 20} more\n`);
    print(`published ${accepted} messages, ${rejected.length} rejected`);
  }
  return code;
}
