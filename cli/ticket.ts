// `herald ticket`: signs a test ticket (HS256 JWT, sub = user) as a business backend would.
import { SignJWT } from "jose";
import { CliError, EXIT } from "./exit.js";
import { print } from "./http.js";

export interface TicketOptions {
  secret?: string;
  ttl: string;
  issuer?: string;
  audience?: string;
}

export async function signTicket(user: string, o: TicketOptions): Promise<{ ticket: string; expiresAt: string }> {
  const secret = o.secret ?? process.env.HERALD_TICKET_SECRET;
  if (!secret) throw new CliError(EXIT.USAGE, "give --secret or set HERALD_TICKET_SECRET (the nodes' ticket secret)");
  if (secret.length < 32) throw new CliError(EXIT.USAGE, "the secret must be at least 32 characters, as the nodes require");
  const ttl = Number(o.ttl);
  if (!Number.isInteger(ttl) || ttl < 1) throw new CliError(EXIT.USAGE, `--ttl must be a positive number of seconds, not ${JSON.stringify(o.ttl)}`);
  const exp = Math.floor(Date.now() / 1000) + ttl;
  let jwt = new SignJWT({}).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject(user).setIssuedAt().setExpirationTime(exp);
  if (o.issuer) jwt = jwt.setIssuer(o.issuer);
  if (o.audience) jwt = jwt.setAudience(o.audience);
  return { ticket: await jwt.sign(new TextEncoder().encode(secret)), expiresAt: new Date(exp * 1000).toISOString() };
}

export async function ticketCommand(user: string, o: TicketOptions & { json?: boolean }): Promise<void> {
  const t = await signTicket(user, o);
  print(o.json ? JSON.stringify(t) : t.ticket);
}
