// The JSON segments of a compact JWT (header and claims), shared by access tokens and HS256 tickets.

export function segment(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** A segment's JSON object, or null when it is not base64url JSON of an object. */
export function parseSegment(s: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
