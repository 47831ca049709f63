// The address a request came from, believing X-Forwarded-For only from trusted proxies.
import { BlockList, isIP } from "node:net";

/** HERALD_TRUSTED_PROXIES entries (addresses or CIDR ranges) as a BlockList; throws on a bad entry. */
export function trustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split("/");
    const type = isIP(addr ?? "");
    if (!type) throw new Error(`"${e}" is not an IP address or CIDR range`);
    const family = type === 4 ? "ipv4" : "ipv6";
    if (bits === undefined) list.addAddress(addr!, family);
    else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (type === 4 ? 32 : 128)) throw new Error(`"${e}" has a bad prefix length`);
      list.addSubnet(addr!, prefix, family);
    }
  }
  return list;
}

function plain(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function isTrusted(address: string, trusted: BlockList): boolean {
  const type = isIP(address);
  return type !== 0 && trusted.check(address, type === 4 ? "ipv4" : "ipv6");
}

/**
 * The client address: the socket's peer, unless that peer is a trusted proxy; then X-Forwarded-For is
 * read from the right, skipping trusted proxies, and the first address that is not one is the client.
 */
export function clientIp(remote: string | undefined, forwardedFor: string | string[] | undefined, trusted: BlockList): string {
  let ip = plain(remote ?? "");
  if (!isTrusted(ip, trusted) || !forwardedFor) return ip || "unknown";
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor).split(",").map((h) => plain(h.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!isIP(hop)) return ip; // garbage: stop at the last address we could believe
    ip = hop;
    if (!isTrusted(hop, trusted)) return hop;
  }
  return ip;
}
