// Small helpers for JSON over node:http: bounded body reading and uniform error bodies.
import type { IncomingMessage, ServerResponse } from "node:http";
import { exceedsDepth } from "../publish/json-value.js";
import { Refusal } from "../refusal.js";

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: Refusal, headers: Record<string, string> = {}): void {
  send(res, err.status, { error: { code: err.code, message: err.message, ...err.extra } }, { ...headers, ...err.headers });
}

/**
 * Reads a JSON object body of at most maxBytes; 413 past it, 415 for another type, 400 when it is not a
 * JSON object or nests deeper than maxDepth (checked without recursion, before anything walks it).
 */
export async function readJson(req: IncomingMessage, maxBytes: number, maxDepth = 64): Promise<Record<string, unknown>> {
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\b/i.test(type)) throw new Refusal(415, "UNSUPPORTED_MEDIA_TYPE", "send Content-Type: application/json");
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) {
    req.resume();
    throw new Refusal(413, "BODY_TOO_LARGE", `the body is ${declared} bytes; the limit is ${maxBytes}`);
  }
  const body = await bodyOf(req, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw new Refusal(400, "INVALID_JSON", `the body is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Refusal(400, "INVALID_BODY", "the body must be a JSON object");
  if (exceedsDepth(value, maxDepth)) throw new Refusal(400, "JSON_TOO_DEEP", `the body nests arrays and objects deeper than ${maxDepth} levels`);
  return value as Record<string, unknown>;
}

/** The body as text, by events (cheaper per request than async iteration); 413 once it passes maxBytes. */
function bodyOf(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let first: Buffer | null = null;
    let rest: Buffer[] | null = null;
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off("data", onData);
        req.resume();
        reject(new Refusal(413, "BODY_TOO_LARGE", `the body exceeds the limit of ${maxBytes} bytes`));
      } else if (first === null) first = chunk;
      else (rest ??= [first]).push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(rest ? Buffer.concat(rest).toString("utf8") : first ? first.toString("utf8") : ""));
    req.once("error", reject);
  });
}
