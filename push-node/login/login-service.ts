// The login use case: a verified user gets the node the affinity document assigns among the live nodes,
// and a token bound to user, node and the user's inbox position now.
import type { IncomingHttpHeaders } from "node:http";
import type { Logger } from "pino";
import type { AffinityDocument, AffinityNode } from "../../protocol/affinity-document.js";
import { assign } from "../../protocol/assign.js";
import { LoginError, type Verifier } from "../auth/login.js";
import type { TokenIssuer } from "../auth/token.js";
import type { RequestLimits } from "../limits/request-limits.js";
import type { Metrics } from "../metrics.js";
import type { Inbox, Membership } from "../ports.js";
import { Refusal } from "../refusal.js";

export interface LoginDeps {
  verify: Verifier;
  tokens: TokenIssuer;
  /** Where the affinity document comes from (affinity/source.ts). */
  affinity: { current(): AffinityDocument | null };
  membership: Pick<Membership, "liveNodeIds">;
  inbox: Pick<Inbox, "head">;
  limits: RequestLimits;
  /** False once the node is shutting down. */
  accepting: () => boolean;
  metrics: Metrics;
  log: Logger;
}

export interface LoginAnswer {
  token: string;
  expiresAt: string;
  userId: string;
  node: Pick<AffinityNode, "id" | "url" | "path">;
  /** Where the user's inbox stood at login: a channel without since or deviceId starts there. */
  position: { epoch: string | null; offset: string };
}

export class LoginService {
  constructor(private readonly d: LoginDeps) {}

  /** Before the body is read: this node takes logins, and this client address is within its rate. */
  admit(clientIp: string): void {
    if (!this.d.accepting()) throw new Refusal(503, "NODE_UNAVAILABLE", "this node is shutting down; try another");
    this.d.limits.take("login_ip", clientIp);
  }

  async login(body: Record<string, unknown>, headers: IncomingHttpHeaders): Promise<LoginAnswer> {
    const { d } = this;
    let user: string;
    try {
      user = await d.verify(body, headers);
    } catch (err) {
      if (err instanceof LoginError) {
        d.metrics.logins.inc({ result: err.status === 502 ? "error" : "refused" });
        throw new Refusal(err.status, err.code, err.message);
      }
      throw err;
    }
    d.limits.take("login_user", user);
    const doc = d.affinity.current();
    const node = doc ? assign(user, doc, d.membership.liveNodeIds()) : null;
    if (!node) {
      d.metrics.logins.inc({ result: "unavailable" });
      throw new Refusal(503, "NO_NODE_AVAILABLE", "no push node is active and alive to take this user; try again shortly");
    }
    let position: { epoch: string | null; offset: string };
    try {
      const head = await d.inbox.head(user);
      position = { epoch: head.epoch, offset: head.last };
    } catch (err) {
      d.metrics.logins.inc({ result: "error" });
      d.log.warn({ err: (err as Error).message }, "login could not read the inbox head");
      throw new Refusal(503, "STORE_UNAVAILABLE", "the node cannot reach its store; retry shortly");
    }
    const { token, expiresAt } = d.tokens.issue({ user, node: node.id, inbox: position });
    d.metrics.logins.inc({ result: "ok" });
    return { token, expiresAt, userId: user, node: { id: node.id, url: node.url, path: node.path }, position };
  }
}
