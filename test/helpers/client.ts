// Real Socket.IO clients for tests: log in, connect with the token, collect what arrives.
import { io, type Socket } from "socket.io-client";
import { SignJWT } from "jose";
import { TICKET_SECRET, PUBLISH_KEY } from "./push-node.js";

export interface LoginResult {
  token: string;
  expiresAt: string;
  userId: string;
  node: { id: string; url: string; path: string };
  position: { epoch: string | null; offset: string };
}

export async function ticketFor(user: string, secret = TICKET_SECRET): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(user).setIssuedAt().setExpirationTime("5m").sign(new TextEncoder().encode(secret));
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

export async function login(nodeUrl: string, body: Record<string, unknown>): Promise<LoginResult> {
  const r = await postJson(`${nodeUrl}/v1/login`, body);
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as LoginResult;
}

export async function loginTicket(nodeUrl: string, user: string): Promise<LoginResult> {
  return login(nodeUrl, { ticket: await ticketFor(user) });
}

export function publish(nodeUrl: string, body: unknown, key = PUBLISH_KEY) {
  return postJson(`${nodeUrl}/v1/publish`, body, { authorization: `Bearer ${key}` });
}

export interface TestClient {
  socket: Socket;
  messages: any[];
  /** Resolves once `n` messages have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<any[]>;
  close(): void;
}

/** Connects with the login's token to the node and path it names; resolves on connect, rejects on connect_error. */
export function connect(l: LoginResult, extraAuth: Record<string, unknown> = {}): Promise<TestClient> {
  const socket = io(l.node.url, { path: l.node.path, auth: { token: l.token, ...extraAuth }, transports: ["websocket"], reconnection: false, forceNew: true });
  const messages: any[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  socket.on("message", (m) => {
    messages.push(m);
    for (const w of waiters.splice(0)) if (messages.length >= w.n) w.resolve();
    else waiters.push(w);
  });
  const client: TestClient = {
    socket,
    messages,
    waitFor(n, timeoutMs = 10_000) {
      if (messages.length >= n) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`got ${messages.length} of ${n} messages`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(t), resolve(messages)) });
      });
    },
    close: () => void socket.close(),
  };
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(client));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
}
