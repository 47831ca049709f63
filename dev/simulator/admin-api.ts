// The plain-HTTP admin endpoint on loopback: audit log, fault injection, RBAC switch, watch cuts.
//   GET  /audit[?user=&verb=&resource=&namespace=&name=]    audit entries (JSON array)
//   DELETE /audit                                          clear the audit log
//   POST /faults        {"verb":"update","resource":"widgets","count":2,"status":409}
//   GET  /faults        pending rules;  DELETE /faults      clear them
//   POST /watches/cut   {"resource":"pods"} (optional filter) → {"cut": n}
//   POST /compact       forget watch history (resuming watches get 410)
//   POST /rbac          {"enabled": true}
//   GET  /images        the image patterns the registry has; POST /images {"image":"my/app:1"} adds one
//   GET  /info          url, kubeconfig path, pod and service address ranges, the Ingress controller's address
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { Simulator } from "./simulator.js";

const name = z.string().min(1).optional();
const faultRule = z.strictObject({
  user: name,
  verb: z.enum(["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]).optional(),
  resource: name,
  subresource: name,
  namespace: z.string().optional(),
  name,
  count: z.number().int().min(1).optional(),
  status: z.number().int().min(400).max(599).optional(),
  reason: name,
  message: name,
  delayMs: z.number().int().min(0).max(600_000).optional(),
  retryAfterSeconds: z.number().int().min(0).optional(),
});
const watchCut = z.strictObject({ resource: name, namespace: z.string().optional(), user: name, abrupt: z.boolean().optional() });
const rbacSwitch = z.strictObject({ enabled: z.boolean() });
const imageAdd = z.strictObject({ image: z.string().min(1) });

function reply(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(code, { "Content-Type": "application/json" }).end(text);
}

async function jsonBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text.trim() ? JSON.parse(text) : {};
}

export class AdminApi {
  constructor(private readonly sim: Simulator) {}

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.route(req, res).catch((err) =>
      reply(res, 400, { error: err instanceof z.ZodError ? z.prettifyError(err) : String((err as Error).message ?? err) }),
    );
  };

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://admin");
    const key = `${req.method} ${url.pathname.replace(/\/+$/, "")}`;
    const q = Object.fromEntries(url.searchParams);
    switch (key) {
      case "GET /audit":
        return reply(res, 200, this.sim.audit.find(q));
      case "DELETE /audit":
        this.sim.audit.clear();
        return reply(res, 200, {});
      case "GET /faults":
        return reply(res, 200, this.sim.faults.pending());
      case "POST /faults":
        this.sim.faults.add(faultRule.parse(await jsonBody(req)));
        return reply(res, 201, this.sim.faults.pending());
      case "DELETE /faults":
        this.sim.faults.clear();
        return reply(res, 200, []);
      case "POST /watches/cut":
        return reply(res, 200, { cut: this.sim.faults.cutWatches(watchCut.parse(await jsonBody(req))) });
      case "POST /compact":
        this.sim.compact();
        return reply(res, 200, {});
      case "POST /rbac": {
        const { enabled } = rbacSwitch.parse(await jsonBody(req));
        this.sim.setRbac(enabled);
        return reply(res, 200, { enabled });
      }
      case "GET /images":
        return reply(res, 200, this.sim.images.patterns());
      case "POST /images":
        this.sim.images.add(imageAdd.parse(await jsonBody(req)).image);
        return reply(res, 201, this.sim.images.patterns());
      case "GET /info":
        return reply(res, 200, {
          url: this.sim.url,
          kubeconfigPath: this.sim.kubeconfigPath,
          podNetwork: this.sim.network.podPrefix + ".0/24",
          serviceNetwork: this.sim.network.servicePrefix + ".0/24",
          ingress: `${this.sim.ingress.address.ip}:${this.sim.ingress.address.port}`,
        });
      default:
        return reply(res, 404, { error: `no such admin endpoint: ${key}` });
    }
  }
}
