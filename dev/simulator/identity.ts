// Bearer tokens → identities: the kubeconfig user (cluster admin), service accounts, extra users.
import { randomBytes } from "node:crypto";
import type { Identity } from "./rbac.js";

export const ANONYMOUS: Identity = { username: "system:anonymous", groups: ["system:unauthenticated"] };

export class Tokens {
  private readonly byToken = new Map<string, Identity>();
  readonly adminToken: string;

  constructor() {
    this.adminToken = this.issue({ username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] });
  }

  /** Issues a new token for an identity. */
  issue(identity: Identity): string {
    const token = `sim-${randomBytes(18).toString("base64url")}`;
    this.byToken.set(token, identity);
    return token;
  }

  /** A token for a service account (the same one on every call). */
  serviceAccountToken(namespace: string, name: string): string {
    const username = `system:serviceaccount:${namespace}:${name}`;
    for (const [token, who] of this.byToken) if (who.username === username) return token;
    return this.issue({
      username,
      groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
      serviceAccount: { namespace, name },
    });
  }

  /** A token for a plain user with the given groups. */
  userToken(username: string, groups: string[] = []): string {
    for (const [token, who] of this.byToken) if (who.username === username && !who.serviceAccount) return token;
    return this.issue({ username, groups: [...groups, "system:authenticated"] });
  }

  /** The identity of an Authorization header: undefined for an unknown token, anonymous without one. */
  identify(authorization: string | undefined): Identity | undefined {
    if (!authorization) return ANONYMOUS;
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m) return undefined;
    return this.byToken.get(m[1]!);
  }
}
