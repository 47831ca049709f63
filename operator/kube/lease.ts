// Leader election on a coordination.k8s.io Lease, with controller-runtime's timings (lease 15 s,
// renew deadline 10 s, retry 2 s): two operator replicas never both act.
import type { Logger } from "pino";
import { KubeError, type KubeRest } from "../../common/kube/client.js";

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/** RFC 3339 with microseconds, as the API server's MicroTime wants it. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Pure: may `identity` take or keep the lease as it stands at `now`? */
export function canAcquire(spec: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number } | undefined, identity: string, now: number): boolean {
  if (!spec?.holderIdentity || spec.holderIdentity === identity) return true;
  const renewed = spec.renewTime ? Date.parse(spec.renewTime) : 0;
  return now > renewed + (spec.leaseDurationSeconds ?? 15) * 1000;
}

export class LeaderElector {
  private timer: NodeJS.Timeout | null = null;
  private leading = false;
  private lastRenew = 0;
  private stopped = false;
  /** The Lease as this process last wrote it (null: read it first). */
  private mine: any = null;

  constructor(private readonly rest: KubeRest, private readonly o: LeaseOptions, private readonly log: Logger) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this process leads; calls onLost if it ever stops leading. */
  run(onLost: () => void): Promise<void> {
    const retry = this.o.retryPeriodMs ?? 2000;
    return new Promise((resolve) => {
      const tick = async () => {
        if (this.stopped) return;
        let ok = false;
        try {
          ok = await this.tryAcquireOrRenew();
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, "lease update failed");
        }
        const now = Date.now();
        if (ok) {
          this.lastRenew = now;
          if (!this.leading) {
            this.leading = true;
            this.log.info({ lease: this.o.name, identity: this.o.identity }, "became the leader");
            resolve();
          }
        } else if (this.leading && now - this.lastRenew > (this.o.renewDeadlineMs ?? 10_000)) {
          this.leading = false;
          this.log.error("lost the lease");
          onLost();
          return;
        }
        this.timer = setTimeout(() => void tick(), retry);
      };
      void tick();
    });
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`;
    const now = Date.now();
    const duration = this.o.leaseDurationSeconds ?? 15;
    // The leader renews from the Lease its last write returned (one PUT per retry period, no GET): if
    // anyone else wrote it since, the resourceVersion no longer matches and the PUT answers 409.
    const lease = this.mine ?? (await this.rest.find(`${path}/${this.o.name}`));
    this.mine = null;
    if (!lease) {
      try {
        this.mine = await this.rest.request("POST", path, {
          body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.o.name, namespace: this.o.namespace }, spec: { holderIdentity: this.o.identity, leaseDurationSeconds: duration, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 } },
        });
        return true;
      } catch (err) {
        if (err instanceof KubeError && err.status === 409) return false;
        throw err;
      }
    }
    if (!canAcquire(lease.spec, this.o.identity, now)) return false;
    const taking = lease.spec?.holderIdentity !== this.o.identity;
    const spec = {
      ...lease.spec,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: duration,
      renewTime: microTime(now),
      ...(taking ? { acquireTime: microTime(now), leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 } : {}),
    };
    try {
      this.mine = await this.rest.request("PUT", `${path}/${this.o.name}`, { body: { ...lease, spec } });
      return true;
    } catch (err) {
      if (err instanceof KubeError && err.status === 409) return false;
      throw err;
    }
  }

  /** Stops renewing; a leader that stops releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases/${this.o.name}`;
    try {
      const lease = await this.rest.get(path);
      if (lease.spec?.holderIdentity === this.o.identity) await this.rest.request("PUT", path, { body: { ...lease, spec: { ...lease.spec, holderIdentity: "", renewTime: microTime(Date.now() - 3_600_000) } } });
    } catch {
      // the lease runs out by itself
    }
  }
}
