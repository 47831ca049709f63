// JSON over HTTP for the commands: every failure becomes a CliError with an exit code and the server's error code.
import { CliError, EXIT, exitForStatus } from "./exit.js";

export const DEFAULT_URL = "http://localhost:3000";

export function baseUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

export async function requestJson(method: "GET" | "POST", url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    text = await res.text();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new CliError(EXIT.UNAVAILABLE, `cannot reach ${url}: ${cause ?? (err as Error).message}`);
  }
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: reported by the caller through the status
  }
  return { status: res.status, body: parsed };
}

/** Throws the server's error (code and message) with the exit code its status calls for. */
export function failWith(what: string, r: { status: number; body: any }): never {
  const e = r.body?.error;
  const detail = e?.code ? `${e.code}: ${e.message}` : `HTTP ${r.status}`;
  throw new CliError(exitForStatus(r.status), `${what} failed (${r.status}) ${detail}`);
}

export function print(line: string): void {
  process.stdout.write(line + "\n");
}
