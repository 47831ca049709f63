// startSimulator(): the API server over HTTPS on a random loopback port, its kubeconfig, the admin
// endpoint, and the controllers (kubelet, workloads, endpoints and service proxies).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminApi } from "./admin-api.js";
import { ApiServer } from "./api-server.js";
import { AuditLog } from "./audit.js";
import { makeCertificates } from "./certs.js";
import { Cluster } from "./cluster.js";
import { Faults } from "./faults.js";
import { Tokens } from "./identity.js";
import { Kubelet } from "./kubelet.js";
import { renderKubeconfig } from "./kubeconfig.js";
import { DisruptionController } from "./disruption-controller.js";
import { ImageRegistry } from "./images.js";
import { IngressController } from "./ingress.js";
import { Network } from "./network.js";
import { WorkloadControllers } from "./workloads.js";

export interface SimulatorOptions {
  /** Directory for the kubeconfig, certificates and pod files (default: a new temp dir, removed on stop). */
  dir?: string;
  /** Enforce RBAC from the start (default false; switch with setRbac). */
  rbac?: boolean;
  /** Run pods as local processes (default true). */
  kubelet?: boolean;
  /** How many change events are kept for watch resumption (default 5000). */
  watchHistory?: number;
  /** Serve the plain-HTTP admin endpoint on a random loopback port (default true). */
  admin?: boolean;
  /** How often watches with allowWatchBookmarks=true get a BOOKMARK event (default 60000, about the real server's pace). */
  bookmarkIntervalMs?: number;
  /** Images the registry has besides DEFAULT_IMAGES (patterns like "my/app:*"; "*" for any): others end in ImagePullBackOff. */
  images?: string[];
  /** Where simulator diagnostics go (default: nowhere). */
  log?: (line: string) => void;
}

export interface KubeconfigRequest {
  /** A service account's identity (token issued by the simulator). */
  serviceAccount?: { namespace: string; name: string };
  /** A plain user, with groups. */
  user?: string;
  groups?: string[];
  /** Default namespace of the context. */
  namespace?: string;
  /** File name inside the simulator dir (default derived from the identity). */
  fileName?: string;
}

export interface Simulator {
  /** https://127.0.0.1:PORT */
  url: string;
  /** Kubeconfig of the cluster admin (group system:masters). */
  kubeconfigPath: string;
  /** http://127.0.0.1:PORT of the admin endpoint (faults, audit), or undefined when disabled. */
  adminUrl?: string;
  dir: string;
  caCert: string;
  adminToken: string;
  cluster: Cluster;
  audit: AuditLog;
  faults: Faults;
  tokens: Tokens;
  network: Network;
  /** The Ingress controller: every Ingress is served at ingress.address (127.0.0.1 and a random port). */
  ingress: IngressController;
  /** The images pods can pull (add() more at run time). */
  images: ImageRegistry;
  kubelet?: Kubelet;
  /** Turns RBAC enforcement on or off. */
  setRbac(on: boolean): void;
  /** Forgets watch history: watches resuming from an older resourceVersion get 410 Gone. */
  compact(): void;
  /** Writes a kubeconfig for another identity and returns its path. */
  writeKubeconfig(request: KubeconfigRequest): string;
  /** Stops the servers, kills every process started, removes the temp dir it created. */
  stop(): Promise<void>;
}

function listen(server: HttpServer | HttpsServer, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function trackSockets(server: HttpServer | HttpsServer): () => void {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return () => {
    for (const s of sockets) s.destroy();
  };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "herald-sim-"));
  mkdirSync(dir, { recursive: true });
  const log = options.log ?? (() => {});
  const certs = await makeCertificates();
  const cluster = new Cluster(options.watchHistory);
  const tokens = new Tokens();
  const audit = new AuditLog();
  const faults = new Faults();
  let rbac = options.rbac ?? false;
  let port = 0;
  const network = new Network(cluster, log);
  const images = new ImageRegistry(options.images);
  const ingress = new IngressController(cluster, log);
  const kubelet =
    options.kubelet === false
      ? undefined
      : new Kubelet({ cluster, network, tokens, images, dir: join(dir, "pods"), caCert: certs.caCert, apiServer: () => ({ host: "127.0.0.1", port }), log });
  const api = new ApiServer({
    cluster,
    tokens,
    audit,
    faults,
    rbac: () => rbac,
    serverAddress: () => `127.0.0.1:${port}`,
    bookmarkIntervalMs: () => options.bookmarkIntervalMs ?? 60_000,
    podLogFile: (ns, name, container, previous) => kubelet?.logFile(ns, name, container, previous),
  });
  const https = createHttpsServer({ cert: certs.serverCert, key: certs.serverKey }, api.handle);
  https.keepAliveTimeout = 30_000;
  const killHttpsSockets = trackSockets(https);
  port = await listen(https);
  const url = `https://127.0.0.1:${port}`;
  writeFileSync(join(dir, "ca.crt"), certs.caCert);

  const writeKubeconfig = (req: KubeconfigRequest): string => {
    let token: string;
    let user: string;
    if (req.serviceAccount) {
      token = tokens.serviceAccountToken(req.serviceAccount.namespace, req.serviceAccount.name);
      user = `system:serviceaccount:${req.serviceAccount.namespace}:${req.serviceAccount.name}`;
    } else if (req.user) {
      token = tokens.userToken(req.user, req.groups ?? []);
      user = req.user;
    } else {
      token = tokens.adminToken;
      user = "kubernetes-admin";
    }
    const file = join(dir, req.fileName ?? `kubeconfig-${user.replace(/[^a-zA-Z0-9_.-]+/g, "_")}.yaml`);
    writeFileSync(file, renderKubeconfig({ server: url, caCert: certs.caCert, token, user, namespace: req.namespace }), { mode: 0o600 });
    return file;
  };
  const kubeconfigPath = writeKubeconfig({ fileName: "kubeconfig" });

  const workloads = new WorkloadControllers(cluster, log);
  workloads.start();
  const disruption = new DisruptionController(cluster, log);
  disruption.start();
  await network.start();
  await ingress.start();
  await kubelet?.start();

  let adminServer: HttpServer | undefined;
  let adminUrl: string | undefined;
  let killAdminSockets = () => {};
  const sim: Simulator = {
    url,
    kubeconfigPath,
    dir,
    caCert: certs.caCert,
    adminToken: tokens.adminToken,
    cluster,
    audit,
    faults,
    tokens,
    network,
    ingress,
    images,
    kubelet,
    setRbac: (on) => {
      rbac = on;
    },
    compact: () => cluster.store.compact(),
    writeKubeconfig,
    stop: async () => {
      workloads.stop();
      disruption.stop();
      await kubelet?.stop();
      await network.stop();
      await ingress.stop();
      faults.cutWatches();
      killHttpsSockets();
      killAdminSockets();
      await new Promise<void>((r) => https.close(() => r()));
      if (adminServer) await new Promise<void>((r) => adminServer!.close(() => r()));
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  if (options.admin !== false) {
    adminServer = createHttpServer(new AdminApi(sim).handle);
    killAdminSockets = trackSockets(adminServer);
    adminUrl = `http://127.0.0.1:${await listen(adminServer)}`;
    sim.adminUrl = adminUrl;
  }
  log(`simulator: API server ${url}, kubeconfig ${kubeconfigPath}`);
  return sim;
}
