// JSON over node:http with a keep-alive agent (lighter than fetch for many small requests).
import { Agent, request } from "node:http";

/**
 * Keep-alive connections, closed by us after 2 s idle: Node servers close theirs after 5 s
 * (keepAliveTimeout), and a request sent on a connection the server is closing fails with ECONNRESET.
 */
export function keepAliveAgent(maxSockets: number, localAddress?: string): Agent {
  return new Agent({ keepAlive: true, maxSockets, localAddress, timeout: 2000 });
}

export function postJson(url: string, body: unknown, agent: Agent, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ status: number; body: any }> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = raw;
        try {
          parsed = raw ? JSON.parse(raw) : null;
        } catch {
          // not JSON: keep the text for the error report
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(text);
  });
}
