// Which browser origins may use the node: one rule for login, publish and every Socket.IO transport.

/**
 * True when a request with this Origin header may proceed. No Origin header means a client that is not
 * a browser page (Node, Python, mobile apps): allowed, since an Origin check only protects browsers'
 * users from other sites. "*" in the list allows every origin.
 */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined || origin === "") return true;
  return allowed.includes("*") || allowed.includes(origin);
}
