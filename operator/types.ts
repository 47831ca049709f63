// The PushCluster resource as the operator reads it (crds/pushcluster.yaml is the schema; the API
// server applies its defaults, so most fields are present on objects the operator sees).
export const GROUP = "herald.dev";
export const VERSION = "v1alpha1";
export const PLURAL = "pushclusters";
export const KIND = "PushCluster";
export const FINALIZER = "herald.dev/redis-cleanup";
export const NODE_PORT = 8080;

export interface SecretKeyRef {
  name: string;
  key?: string;
}

/** spec.pod: what a cluster may require of the push-node pods (each as in a pod spec). */
export interface PodSettings {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  affinity?: Record<string, unknown>;
  tolerations?: Record<string, unknown>[];
  nodeSelector?: Record<string, string>;
  topologySpreadConstraints?: Record<string, unknown>[];
  priorityClassName?: string;
  imagePullSecrets?: Array<{ name: string }>;
  securityContext?: Record<string, unknown>;
  containerSecurityContext?: Record<string, unknown>;
  volumes?: Array<{ name: string; [k: string]: unknown }>;
  volumeMounts?: Array<{ name: string; mountPath: string; [k: string]: unknown }>;
}

export type ExposeType = "ClusterIP" | "Ingress" | "Gateway" | "LoadBalancer" | "NodePort";

/** spec.expose: how clients outside the cluster reach each node (the affinity document's URLs follow it). */
export interface Expose {
  type?: ExposeType;
  ingress?: { className?: string; tlsSecretName?: string; annotations?: Record<string, string> };
  gateway?: { parentRefs: Array<{ name: string; namespace?: string; sectionName?: string; port?: number }>; annotations?: Record<string, string> };
  service?: { annotations?: Record<string, string>; loadBalancerClass?: string; externalTrafficPolicy?: "Cluster" | "Local" };
}

export interface PushClusterSpec {
  replicas?: number;
  autoscaling?: {
    enabled?: boolean;
    minReplicas?: number;
    maxReplicas?: number;
    targetConnectionsPerNode?: number;
    scaleUpCooldownSeconds?: number;
    scaleDownCooldownSeconds?: number;
  };
  image?: string;
  imagePullPolicy?: string;
  resources?: Record<string, unknown>;
  env?: Array<{ name: string; value?: string; valueFrom?: Record<string, unknown> }>;
  pod?: PodSettings;
  redis: { url?: string; urlSecretRef?: SecretKeyRef; mode?: "standalone" | "cluster"; keyPrefix?: string; tlsCASecretRef?: SecretKeyRef };
  auth: {
    mode: "ticket" | "webhook";
    ticketSecretRef?: SecretKeyRef;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    webhookUrl?: string;
    tokenSecretRef?: SecretKeyRef;
    tokenTtlSeconds?: number;
  };
  publishKeysSecretRef: SecretKeyRef;
  endpoint?: {
    host?: string;
    scheme?: "http" | "https";
    pathTemplate?: string;
    /** The public port, when not the scheme's default (443/80). */
    port?: number;
    /** Legacy form of `expose.type: Ingress` (with expose.ingress's className and tlsSecretName). */
    ingress?: { enabled?: boolean; className?: string; tlsSecretName?: string };
  };
  expose?: Expose;
  pins?: Record<string, string>;
  drainGracePeriodSeconds?: number;
  progressDeadlineSeconds?: number;
  paused?: boolean;
  monitoring?: { serviceMonitor?: { enabled?: boolean; interval?: string } };
}

export interface Condition {
  type: "Ready" | "Progressing" | "Degraded" | "Autoscaling";
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface Draining {
  node: string;
  since: string;
  reason: "scale-down" | "rolling";
}

export interface PushClusterStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  selector?: string;
  connections?: number;
  users?: number;
  affinityVersion?: number;
  draining?: Draining[];
  desiredReplicas?: number;
  lastScaleTime?: string;
  /** The finalizer's removal of the cluster's Redis keys, resumable: keys removed so far and a SCAN cursor per master. */
  cleanup?: { deletedKeys: number; cursors: Record<string, string>; startedAt: string };
  /** When the last scale or roll made progress (the progress deadline counts from here). */
  lastProgressTime?: string;
  /** The spec.expose.type whose objects exist: after a change, the old type's Ingress or HTTPRoutes are removed, then this follows. */
  exposedAs?: ExposeType;
  conditions?: Condition[];
}

export interface PushCluster {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
  };
  spec: PushClusterSpec;
  status?: PushClusterStatus;
}

/** Any Kubernetes object, as plain JSON. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: unknown[]; [k: string]: unknown };
  [k: string]: unknown;
};
