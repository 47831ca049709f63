// The systems under test, by name.
export type SystemName = "plain" | "herald";
export const SYSTEMS: SystemName[] = ["plain", "herald"];
export const LABEL: Record<SystemName, string> = { plain: "plain Socket.IO", herald: "Herald" };
