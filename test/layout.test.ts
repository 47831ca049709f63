// The house rules of docs/architecture.md, checked on the sources: which folder may import which.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/push-node.js";

const SOURCE = /\.(ts|mts|mjs|js)$/;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name === "dist") return [];
    return statSync(join(ROOT, path)).isDirectory() ? sources(path) : SOURCE.test(name) ? [path] : [];
  });
}

/** Each relative import or export specifier of a file, as a path from the repository root. */
export function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? m[2]!);
  return specs.filter((s) => s.startsWith(".")).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

const topFolders = ["protocol", "common", "push-node", "operator", "client", "dev", "cli.ts"];
const edges = topFolders
  .flatMap((top) => (top.endsWith(".ts") ? [top] : sources(top)))
  .flatMap((file) => importsOf(file, readFileSync(join(ROOT, file), "utf8")).map((to) => ({ from: file, to })));
const inside = (path: string, folder: string) => path === folder || path.startsWith(folder + "/");

describe("layout rules", () => {
  it("reads the imports it checks", () => {
    expect(importsOf("a/b.ts", 'import { x } from "../c/d.js";\nexport * from "./e.js";\nawait import("./f.js");')).toEqual(["c/d.js", "a/e.js", "a/f.js"]);
    expect(edges.length).toBeGreaterThan(100);
  });

  it("nothing outside dev/ and test/ imports dev/", () => {
    expect(edges.filter((e) => inside(e.to, "dev") && !inside(e.from, "dev"))).toEqual([]);
  });

  it("the client SDK takes only protocol/", () => {
    expect(edges.filter((e) => inside(e.from, "client") && !inside(e.to, "client") && !inside(e.to, "protocol"))).toEqual([]);
  });

  it("the operator takes nothing from the push node (shared pieces live in protocol/ and common/)", () => {
    expect(edges.filter((e) => inside(e.from, "operator") && inside(e.to, "push-node"))).toEqual([]);
  });

  it("delivery (push-node/delivery/) never imports the HTTP routes or the affinity sources", () => {
    expect(edges.filter((e) => inside(e.from, "push-node/delivery") && (inside(e.to, "push-node/http") || inside(e.to, "push-node/affinity")))).toEqual([]);
  });

  it("services take the ports (push-node/ports.ts); only node.ts and the publisher library pick the adapters", () => {
    const picks = new Set(["push-node/node.ts", "push-node/publisher-library.ts"]);
    expect(edges.filter((e) => inside(e.to, "push-node/adapters") && !inside(e.from, "push-node/adapters") && !picks.has(e.from))).toEqual([]);
  });

  it("adapters take only the ports, protocol/ and common/", () => {
    const allowed = (to: string) => inside(to, "push-node/adapters") || to === "push-node/ports.js" || inside(to, "protocol") || inside(to, "common");
    expect(edges.filter((e) => inside(e.from, "push-node/adapters") && !allowed(e.to))).toEqual([]);
  });

  it("protocol/ imports nothing of ours; common/ only protocol/", () => {
    expect(edges.filter((e) => inside(e.from, "protocol") && !inside(e.to, "protocol"))).toEqual([]);
    expect(edges.filter((e) => inside(e.from, "common") && !inside(e.to, "common") && !inside(e.to, "protocol"))).toEqual([]);
  });
});
