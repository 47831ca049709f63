// metav1.Status errors, shaped as the real API server sends them.
import type { Cause } from "./schema.js";
import { formatCauses } from "./schema.js";

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: Array<Cause | { reason: string; message: string; field?: string }>; retryAfterSeconds?: number };
  code: number;
}

export class ApiError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
  get code(): number {
    return this.status.code;
  }
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Expired",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export function statusFor(code: number, message: string, reason?: string, details?: Status["details"]): Status {
  const s: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason: reason ?? REASONS[code] ?? "Unknown", code };
  if (details) s.details = details;
  return s;
}

export function apiError(code: number, message: string, reason?: string, details?: Status["details"]): ApiError {
  return new ApiError(statusFor(code, message, reason, details));
}

/** "pods" or "widgets.example.com", as the server names a resource in messages. */
export function qualified(plural: string, group: string): string {
  return group ? `${plural}.${group}` : plural;
}

export const errors = {
  notFound: (plural: string, group: string, name: string) =>
    apiError(404, `${qualified(plural, group)} "${name}" not found`, "NotFound", { name, group: group || undefined, kind: plural }),
  alreadyExists: (plural: string, group: string, name: string) =>
    apiError(409, `${qualified(plural, group)} "${name}" already exists`, "AlreadyExists", { name, group: group || undefined, kind: plural }),
  conflict: (plural: string, group: string, name: string) =>
    apiError(
      409,
      `Operation cannot be fulfilled on ${qualified(plural, group)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      "Conflict",
      { name, group: group || undefined, kind: plural },
    ),
  invalid: (kind: string, group: string, name: string, causes: Cause[]) =>
    apiError(422, `${group ? `${kind}.${group}` : kind} "${name}" is invalid: ${formatCauses(causes)}`, "Invalid", {
      name,
      group: group || undefined,
      kind,
      causes,
    }),
  badRequest: (message: string) => apiError(400, message, "BadRequest"),
  methodNotAllowed: () => apiError(405, "the server does not allow this method on the requested resource", "MethodNotAllowed"),
  noResource: () => apiError(404, "the server could not find the requested resource", "NotFound", {}),
  gone: (message: string) => apiError(410, message, "Expired"),
};
