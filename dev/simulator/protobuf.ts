// Decoding of the Kubernetes Protobuf envelope for the few kinds kubectl's typed subcommands send
// (`kubectl create namespace|configmap|secret|serviceaccount|role|rolebinding|clusterrole|
// clusterrolebinding`, `kubectl auth can-i`). Field numbers
// follow k8s.io/api's generated.proto. Other kinds are refused by the caller (pure functions).

type FieldType = "string" | "bytes" | "bool" | "int" | Message | { map: "string" | "bytes" } | { repeated: "string" | Message };
interface Message {
  [field: number]: [name: string, type: FieldType];
}

const TypeMeta: Message = { 1: ["apiVersion", "string"], 2: ["kind", "string"] };
const OwnerReference: Message = { 1: ["kind", "string"], 3: ["name", "string"], 4: ["uid", "string"], 5: ["apiVersion", "string"], 6: ["controller", "bool"], 7: ["blockOwnerDeletion", "bool"] };
const ObjectMeta: Message = {
  1: ["name", "string"],
  2: ["generateName", "string"],
  3: ["namespace", "string"],
  5: ["uid", "string"],
  6: ["resourceVersion", "string"],
  7: ["generation", "int"],
  11: ["labels", { map: "string" }],
  12: ["annotations", { map: "string" }],
  13: ["ownerReferences", { repeated: OwnerReference }],
  14: ["finalizers", { repeated: "string" }],
};
const ObjectReference: Message = { 1: ["kind", "string"], 2: ["namespace", "string"], 3: ["name", "string"], 4: ["uid", "string"], 5: ["apiVersion", "string"] };
const LocalObjectReference: Message = { 1: ["name", "string"] };
const ResourceAttributes: Message = {
  1: ["namespace", "string"],
  2: ["verb", "string"],
  3: ["group", "string"],
  4: ["version", "string"],
  5: ["resource", "string"],
  6: ["subresource", "string"],
  7: ["name", "string"],
};

const PolicyRule: Message = {
  1: ["verbs", { repeated: "string" }],
  2: ["apiGroups", { repeated: "string" }],
  3: ["resources", { repeated: "string" }],
  4: ["resourceNames", { repeated: "string" }],
  5: ["nonResourceURLs", { repeated: "string" }],
};
const Subject: Message = { 1: ["kind", "string"], 2: ["apiGroup", "string"], 3: ["name", "string"], 4: ["namespace", "string"] };
const RoleRef: Message = { 1: ["apiGroup", "string"], 2: ["kind", "string"], 3: ["name", "string"] };
const Binding: Message = { 1: ["metadata", ObjectMeta], 2: ["subjects", { repeated: Subject }], 3: ["roleRef", RoleRef] };
const RoleMessage: Message = { 1: ["metadata", ObjectMeta], 2: ["rules", { repeated: PolicyRule }] };

export const PROTOBUF_KINDS: Record<string, Message> = {
  Namespace: { 1: ["metadata", ObjectMeta], 2: ["spec", { 1: ["finalizers", { repeated: "string" }] }] },
  ConfigMap: { 1: ["metadata", ObjectMeta], 2: ["data", { map: "string" }], 3: ["binaryData", { map: "bytes" }], 4: ["immutable", "bool"] },
  Secret: { 1: ["metadata", ObjectMeta], 2: ["data", { map: "bytes" }], 3: ["type", "string"], 4: ["stringData", { map: "string" }], 5: ["immutable", "bool"] },
  ServiceAccount: { 1: ["metadata", ObjectMeta], 2: ["secrets", { repeated: ObjectReference }], 3: ["imagePullSecrets", { repeated: LocalObjectReference }], 4: ["automountServiceAccountToken", "bool"] },
  Role: RoleMessage,
  ClusterRole: RoleMessage,
  RoleBinding: Binding,
  ClusterRoleBinding: Binding,
  SelfSubjectAccessReview: {
    1: ["metadata", ObjectMeta],
    2: ["spec", { 1: ["resourceAttributes", ResourceAttributes], 2: ["nonResourceAttributes", { 1: ["path", "string"], 2: ["verb", "string"] }] }],
  },
};

interface WireField {
  field: number;
  wire: number;
  value: bigint | Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

function wireFields(buf: Buffer): WireField[] {
  const out: WireField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(buf, pos);
      out.push({ field, wire, value: v });
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      const end = p2 + Number(len);
      out.push({ field, wire, value: buf.subarray(p2, end) });
      pos = end;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

function scalar(type: "string" | "bytes" | "bool" | "int", value: bigint | Buffer): unknown {
  if (type === "string") return (value as Buffer).toString("utf8");
  if (type === "bytes") return (value as Buffer).toString("base64");
  if (type === "bool") return value !== 0n;
  return Number(value as bigint);
}

function decodeMessage(buf: Buffer, schema: Message): Record<string, unknown> {
  const out: Record<string, any> = {};
  for (const f of wireFields(buf)) {
    const def = schema[f.field];
    if (!def) continue;
    const [name, type] = def;
    if (typeof type === "string") {
      // Go's protobuf structs always carry scalars; their JSON form omits the empty ones.
      const v = scalar(type, f.value);
      if (v !== "" && v !== false && v !== 0) out[name] = v;
    }
    else if ("map" in type) {
      const entry = decodeMessage(f.value as Buffer, { 1: ["key", "string"], 2: ["value", type.map as "string" | "bytes"] });
      out[name] = { ...(out[name] ?? {}), [String(entry.key ?? "")]: entry.value ?? "" };
    } else if ("repeated" in type) {
      const item = typeof type.repeated === "string" ? scalar(type.repeated, f.value) : decodeMessage(f.value as Buffer, type.repeated);
      out[name] = [...(out[name] ?? []), item];
    } else out[name] = decodeMessage(f.value as Buffer, type as Message);
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a "k8s\0"-prefixed runtime.Unknown body into a JSON object, or throws when the kind is not supported. */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new Error("missing the k8s protobuf prefix");
  const envelope = decodeMessage(body.subarray(4), { 1: ["typeMeta", TypeMeta], 2: ["raw", "bytes"] }) as { typeMeta?: { apiVersion?: string; kind?: string }; raw?: string };
  const kind = envelope.typeMeta?.kind ?? "";
  const schema = PROTOBUF_KINDS[kind];
  if (!schema) throw new Error(`kind ${JSON.stringify(kind)} is not one the simulator decodes from Protobuf`);
  return { apiVersion: envelope.typeMeta?.apiVersion, kind, ...decodeMessage(Buffer.from(envelope.raw ?? "", "base64"), schema) };
}
