// POST /v1/login and the session it yields. The HTTP call is the only I/O here.

export interface NodeAddress {
  id: string;
  url: string;
  path: string;
}

/** What the application gives for a login: the body (`{ticket}`, `{userId}` in dev, or what your webhook expects) and optional headers. */
export interface LoginCredentials {
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

export interface Session {
  token: string;
  userId: string;
  node: NodeAddress;
  /** When the token expires, on this machine's clock (ms since the epoch). */
  expiresAt: number;
  /** When to log in again ahead of the expiry, on this machine's clock. */
  refreshAt: number;
}

/** An error the SDK reports; `retryable` says whether the SDK keeps trying by itself. */
export class HeraldError extends Error {
  override name = "HeraldError";
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    /** How long the server asked to wait before trying again (429/503 Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * What the SDK does about a login answered with `status`. Pure.
 * - 401 (LOGIN_REFUSED, TOKEN_EXPIRED, ...): ask the application for credentials again, with backoff;
 * - 408, 429 and 5xx: try again (429/503 after the server's Retry-After when it gives one);
 * - any other 4xx (400 INVALID_LOGIN, 403, 404, 413, 415, ...): retrying cannot help; the client fails.
 */
export function loginRetryable(status: number): boolean {
  return status === 401 || status === 408 || status === 429 || status >= 500;
}

/** A Retry-After header (seconds, or an HTTP date) in ms from `now`; undefined when absent or unreadable. Pure. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * The token's lifetime on the local clock: exp − iat from the JWT when readable (immune to clock skew
 * between client and server), else the server's `expiresAt`. Refresh at 80% of the lifetime, at most
 * a minute before the expiry. Pure.
 */
export function sessionTimes(token: string, expiresAtIso: string, now: number): { expiresAt: number; refreshAt: number } {
  let lifetime = Date.parse(expiresAtIso) - now;
  const claims = decodeJwtPayload(token);
  if (claims && typeof claims.exp === "number" && typeof claims.iat === "number" && claims.exp > claims.iat) lifetime = (claims.exp - claims.iat) * 1000;
  if (!Number.isFinite(lifetime) || lifetime <= 0) lifetime = 0;
  const margin = Math.min(60_000, lifetime * 0.2);
  return { expiresAt: now + lifetime, refreshAt: now + lifetime - margin };
}

function decodeJwtPayload(token: string): Record<string, unknown> | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    return JSON.parse(atob(b64)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Logs in at `baseUrl`; throws HeraldError (retryable for network errors, timeouts and the statuses of loginRetryable). */
export async function postLogin(baseUrl: string, creds: LoginCredentials, fetchFn: typeof fetch, timeoutMs: number, cancel?: AbortSignal): Promise<Session> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  const onCancel = () => ctrl.abort();
  cancel?.addEventListener("abort", onCancel);
  let res: Response;
  let text: string;
  try {
    res = await fetchFn(`${baseUrl.replace(/\/+$/, "")}/v1/login`, {
      method: "POST",
      headers: { "content-type": "application/json", ...creds.headers },
      body: JSON.stringify(creds.body),
      signal: ctrl.signal,
    });
    text = await res.text();
  } catch (err) {
    throw new HeraldError("LOGIN_UNREACHABLE", `login request failed: ${(err as Error).message}`, true);
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener("abort", onCancel);
  }
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: reported below
  }
  if (res.status !== 200) {
    const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof e?.code === "string" ? e.code : `HTTP_${res.status}`;
    const wait = res.status === 429 || res.status === 503 ? retryAfterMs(res.headers.get("retry-after"), Date.now()) : undefined;
    throw new HeraldError(code, typeof e?.message === "string" ? e.message : `login answered HTTP ${res.status}`, loginRetryable(res.status), res.status, wait);
  }
  const b = body as { token?: unknown; expiresAt?: unknown; userId?: unknown; node?: { id?: unknown; url?: unknown; path?: unknown } } | null;
  if (!b || typeof b.token !== "string" || typeof b.expiresAt !== "string" || typeof b.node?.url !== "string" || typeof b.node.path !== "string" || typeof b.node.id !== "string")
    throw new HeraldError("LOGIN_INVALID_ANSWER", "login answered 200 without {token, expiresAt, node: {id, url, path}}", true, 200);
  return {
    token: b.token,
    userId: typeof b.userId === "string" ? b.userId : "",
    node: { id: b.node.id, url: b.node.url, path: b.node.path },
    ...sessionTimes(b.token, b.expiresAt, Date.now()),
  };
}
