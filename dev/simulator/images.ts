// The images the simulator's "registry" has (pure): an image reference is parsed as a container
// runtime does (docker.io and library/ filled in, :latest when there is neither tag nor digest) and
// pulled only when a known pattern matches; any other image ends in ErrImagePull / ImagePullBackOff,
// an unparsable one in InvalidImageName. The simulator runs every container from this checkout
// whatever its image: the registry only decides which references would have existed.

/** Known by default: every tag of the project's image, and a few common base images. */
export const DEFAULT_IMAGES = [
  "ghcr.io/herald-push/herald:*",
  "busybox:*",
  "alpine:*",
  "debian:*",
  "node:*",
  "redis:*",
  "nginx:*",
  "registry.k8s.io/pause:*",
];

export interface ImageRef {
  /** Registry host and path: "docker.io/library/busybox". */
  name: string;
  tag?: string;
  digest?: string;
  /** The fully qualified reference the runtime pulls: "docker.io/library/busybox:latest". */
  full: string;
}

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?";
const REFERENCE = new RegExp(`^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`);

/** Parses an image reference as the runtime does; null when it is not one ("invalid reference format"). */
export function parseImage(ref: string): ImageRef | null {
  const m = REFERENCE.exec(ref);
  if (!m) return null;
  let [, domain, path, tag, digest] = m as unknown as [string, string | undefined, string, string | undefined, string | undefined];
  // "name/x" without a dot, colon or "localhost" in the first part is a Docker Hub path, not a domain
  if (domain && !domain.includes(".") && !domain.includes(":") && domain !== "localhost") {
    path = `${domain}/${path}`;
    domain = undefined;
  }
  if (domain === undefined && !/^[a-z0-9]/.test(path)) return null;
  const host = domain ?? "docker.io";
  const name = `${host}/${host === "docker.io" && !path.includes("/") ? `library/${path}` : path}`;
  if (!tag && !digest) tag = "latest";
  return { name, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), full: `${name}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}` };
}

/** Whether a pattern ("busybox:*", "ghcr.io/x/y:1.2", "*" for anything) names this image. */
export function imageMatches(pattern: string, image: ImageRef): boolean {
  if (pattern === "*") return true;
  const [repo, tag] = pattern.endsWith(":*") ? [pattern.slice(0, -2), "*"] : [pattern, undefined];
  const p = parseImage(repo);
  if (!p || p.name !== image.name) return false;
  if (tag === "*") return true;
  return (p.tag === undefined || p.tag === image.tag) && (p.digest === undefined || p.digest === image.digest);
}

export type PullResult = { ok: true } | { ok: false; reason: "InvalidImageName" | "ErrImagePull" | "ErrImageNeverPull"; message: string };

/** What pulling `image` with `policy` gives, given the known patterns. */
export function pull(known: readonly string[], image: string, policy: string | undefined): PullResult {
  const ref = parseImage(image);
  if (!ref) return { ok: false, reason: "InvalidImageName", message: `Failed to apply default image tag "${image}": couldn't parse image name "${image}": invalid reference format` };
  if (known.some((p) => imageMatches(p, ref))) return { ok: true };
  if (policy === "Never") return { ok: false, reason: "ErrImageNeverPull", message: `Container image "${image}" is not present with pull policy of Never` };
  return {
    ok: false,
    reason: "ErrImagePull",
    message: `failed to pull and unpack image "${ref.full}": failed to resolve reference "${ref.full}": ${ref.full}: not found`,
  };
}

/** The simulator's registry: the default images, those given at start, and those added later. */
export class ImageRegistry {
  private readonly known: string[];
  private readonly listeners = new Set<() => void>();
  constructor(extra: readonly string[] = []) {
    this.known = [...DEFAULT_IMAGES, ...extra];
  }
  /** Makes an image (or pattern) pullable from now on; pods waiting for it start at their next retry. */
  add(pattern: string): void {
    this.known.push(pattern);
    for (const l of this.listeners) l();
  }
  patterns(): readonly string[] {
    return this.known;
  }
  pull(image: string, policy: string | undefined): PullResult {
    return pull(this.known, image, policy);
  }
  onAdd(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
