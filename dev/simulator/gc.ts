// Garbage-collection decisions (pure): which dependents to delete, which owner references to drop,
// which deletion finalizers to remove, and what a terminating namespace still holds.
import type { Obj } from "./objects.js";

export interface StoredObject {
  storageKey: string;
  object: Obj;
}

export type GcAction =
  | { action: "delete"; target: StoredObject; reason: string }
  | { action: "dropOwnerRef"; target: StoredObject; ownerUid: string }
  | { action: "removeFinalizer"; target: StoredObject; finalizer: string };

const isDeleting = (o: Obj) => Boolean(o.metadata?.deletionTimestamp);

export function gcActions(objects: StoredObject[]): GcAction[] {
  const byUid = new Map<string, StoredObject>();
  for (const s of objects) if (s.object.metadata?.uid) byUid.set(s.object.metadata.uid, s);
  const actions: GcAction[] = [];
  const dependentsOf = new Map<string, StoredObject[]>();

  for (const s of objects) {
    const refs: Obj[] = s.object.metadata?.ownerReferences ?? [];
    if (refs.length === 0) continue;
    for (const ref of refs) dependentsOf.set(ref.uid, [...(dependentsOf.get(ref.uid) ?? []), s]);
    if (isDeleting(s.object)) continue;
    const owners = refs.map((r) => byUid.get(r.uid));
    const orphaning = owners.find((o) => o && isDeleting(o.object) && o.object.metadata.finalizers?.includes("orphan"));
    if (orphaning) {
      actions.push({ action: "dropOwnerRef", target: s, ownerUid: orphaning.object.metadata.uid });
      continue;
    }
    if (owners.every((o) => o === undefined)) {
      actions.push({ action: "delete", target: s, reason: "all owners are gone" });
      continue;
    }
    if (owners.some((o) => o && isDeleting(o.object) && o.object.metadata.finalizers?.includes("foregroundDeletion"))) {
      actions.push({ action: "delete", target: s, reason: "owner is being deleted in the foreground" });
    }
  }

  for (const s of objects) {
    if (!isDeleting(s.object)) continue;
    const finalizers: string[] = s.object.metadata.finalizers ?? [];
    const remaining = dependentsOf.get(s.object.metadata.uid) ?? [];
    if (finalizers.includes("foregroundDeletion") && remaining.length === 0)
      actions.push({ action: "removeFinalizer", target: s, finalizer: "foregroundDeletion" });
    if (finalizers.includes("orphan") && remaining.every((d) => !(d.object.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === s.object.metadata.uid)))
      actions.push({ action: "removeFinalizer", target: s, finalizer: "orphan" });
  }
  return actions;
}

/** Objects still living in a terminating namespace (what the namespace controller must delete first). */
export function namespaceContents(objects: StoredObject[], namespace: string): StoredObject[] {
  return objects.filter((s) => s.object.metadata?.namespace === namespace);
}
