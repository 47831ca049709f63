// `herald login`: logs a user in (dev, ticket) and prints the token and the node assigned.
import { CliError, EXIT } from "./exit.js";
import { baseUrl, failWith, print, requestJson } from "./http.js";
import { signTicket } from "./ticket.js";

export interface LoginOptions {
  url: string;
  /** A ticket to send as is. */
  ticket?: string;
  /** Sign a ticket for the user with this secret (ticket mode); else a dev login {userId}. */
  ticketSecret?: string;
}

export interface LoginAnswer {
  token: string;
  expiresAt: string;
  userId: string;
  node: { id: string; url: string; path: string };
  [more: string]: unknown;
}

/** The login body for these options: a given ticket, a ticket signed here, or the dev body. */
export async function loginBody(user: string | undefined, o: LoginOptions): Promise<Record<string, unknown>> {
  if (o.ticket) return { ticket: o.ticket };
  if (!user) throw new CliError(EXIT.USAGE, "give a user id (or --ticket)");
  const secret = o.ticketSecret ?? process.env.HERALD_TICKET_SECRET;
  if (secret) return { ticket: (await signTicket(user, { secret, ttl: "300" })).ticket };
  return { userId: user };
}

export async function login(user: string | undefined, o: LoginOptions): Promise<LoginAnswer> {
  const r = await requestJson("POST", `${baseUrl(o.url)}/v1/login`, await loginBody(user, o));
  if (r.status !== 200) failWith("login", r);
  return r.body as LoginAnswer;
}

export async function loginCommand(user: string | undefined, o: LoginOptions & { json?: boolean }): Promise<void> {
  const a = await login(user, o);
  if (o.json) return print(JSON.stringify(a));
  print(`token: ${a.token}`);
  print(`node: ${a.node.id} ${a.node.url} (path ${a.node.path})`);
  print(`user: ${a.userId}, expires ${a.expiresAt}`);
  const p = a.position as { epoch: string | null; offset: string } | undefined;
  if (p) print(`inbox at login: ${p.epoch === null ? "none yet" : `epoch ${p.epoch}, offset ${p.offset}`} (a client connecting with this token gets everything after it)`);
}
