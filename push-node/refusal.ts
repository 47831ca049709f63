// A request refused, as docs/protocol.md lists them: the HTTP status, the error code, a message, the
// extra fields of the error body, and headers such as Retry-After. The use cases (login, publish) throw
// it; http/ writes it as `{"error": {"code", "message", ...extra}}`.
export class Refusal extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly extra: Record<string, unknown> = {}, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}
