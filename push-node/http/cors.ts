// CORS for the API: the allowed origins (HERALD_CORS_ORIGINS) get their answers, errors included, so
// that a browser can read the error code (and Retry-After); preflights are answered for 10 minutes.
import type { IncomingMessage, ServerResponse } from "node:http";

/** The CORS headers for this request's Origin: none when it has none or it is not allowed. */
export function corsHeaders(allowedOrigins: readonly string[], origin: string | undefined): Record<string, string> {
  if (!origin) return {};
  const any = allowedOrigins.includes("*");
  if (!any && !allowedOrigins.includes(origin)) return {};
  return { "access-control-allow-origin": any ? "*" : origin, "access-control-expose-headers": "Retry-After", vary: "Origin" };
}

export function preflight(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(204, { "access-control-allow-methods": "POST, OPTIONS", "access-control-allow-headers": "content-type, authorization", "access-control-max-age": "600" });
  res.end();
}
