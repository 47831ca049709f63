// Container logs over the API: the whole log or its last lines, optionally followed as it grows.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import type { ServerResponse } from "node:http";

/** The last `n` lines of `text` (all of it when n is undefined). */
export function lastLines(text: string, n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return text;
  if (n === 0) return "";
  const lines = text.split("\n");
  const trailing = text.endsWith("\n");
  const body = trailing ? lines.slice(0, -1) : lines;
  const kept = body.slice(-n).join("\n");
  return trailing && kept !== "" ? `${kept}\n` : kept;
}

/**
 * Streams a log file: its (tail of) current content, then what is appended, until the client goes away
 * or `stillRunning()` says the container is gone (the file is then drained one last time).
 */
export function followLog(res: ServerResponse, file: string, tail: number | undefined, stillRunning: () => boolean, pollMs = 200): void {
  res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
  const initial = readFileSync(file);
  res.write(lastLines(initial.toString("utf8"), tail));
  let offset = initial.length;
  const drain = () => {
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size <= offset) return;
    const fd = openSync(file, "r");
    try {
      const chunk = Buffer.alloc(size - offset);
      readSync(fd, chunk, 0, chunk.length, offset);
      offset = size;
      res.write(chunk);
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(() => {
    drain();
    if (!stillRunning()) {
      clearInterval(timer);
      res.end();
    }
  }, pollMs);
  res.on("close", () => clearInterval(timer));
}
