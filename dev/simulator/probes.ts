// One run of a container probe (httpGet, tcpSocket, exec; grpc as a TCP connect) against a pod's IP.
import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { Obj } from "./objects.js";
import { rewriteMountPaths } from "./pod-spec.js";

export interface ProbeTarget {
  /** The pod IP (the default host). */
  ip: string;
  /** The container's declared ports, for named probe ports. */
  ports: Obj[];
  /** The pod's root directory and mount paths, for exec probes. */
  root: string;
  mountPaths: string[];
  /** Aborted when the pod stops: an exec probe still running is killed. */
  signal?: AbortSignal;
}

function portOf(ports: Obj[], port: number | string): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort ?? 0;
}

/** Whether the probe succeeds once (HTTP status 200-399, a TCP connection, or exit code 0). */
export function runProbe(probe: Obj, target: ProbeTarget): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  return new Promise((done) => {
    if (probe.httpGet) {
      const g = probe.httpGet;
      const req = (g.scheme === "HTTPS" ? httpsRequest : httpRequest)(
        {
          host: g.host || target.ip,
          port: portOf(target.ports, g.port),
          path: g.path ?? "/",
          method: "GET",
          timeout: timeoutMs,
          headers: Object.fromEntries((g.httpHeaders ?? []).map((h: Obj) => [h.name, h.value])),
          rejectUnauthorized: false,
        },
        (res) => {
          res.resume();
          done((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => done(false));
      req.end();
    } else if (probe.tcpSocket || probe.grpc) {
      const port = portOf(target.ports, probe.tcpSocket?.port ?? probe.grpc.port);
      const s = connect({ host: probe.tcpSocket?.host || target.ip, port, timeout: timeoutMs });
      s.on("connect", () => {
        s.destroy();
        done(true);
      });
      s.on("timeout", () => {
        s.destroy();
        done(false);
      });
      s.on("error", () => done(false));
    } else if (probe.exec) {
      const [file, ...args] = (probe.exec.command ?? []) as string[];
      if (!file) return done(false);
      const rewrite = (a: string) => rewriteMountPaths(a, target.mountPaths, target.root);
      const p = spawn(rewrite(file), args.map(rewrite), { cwd: target.root, stdio: "ignore", timeout: timeoutMs, killSignal: "SIGKILL", signal: target.signal, env: { PATH: process.env.PATH ?? "" } });
      p.on("error", () => done(false));
      p.on("exit", (code) => done(code === 0));
    } else done(true);
  });
}
