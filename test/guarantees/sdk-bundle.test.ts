// The SDK bundles for a browser: no Node built-ins reach the bundle, socket.io-client's browser build is used.
import { fileURLToPath } from "node:url";
import { build } from "rolldown";
import { describe, expect, it } from "vitest";

describe("the client SDK in a browser bundle", () => {
  it("bundles for platform=browser without Node built-ins", async () => {
    const input = fileURLToPath(new URL("../../client/index.ts", import.meta.url));
    const warnings: string[] = [];
    const out = await build({ input, platform: "browser", write: false, output: { format: "esm" }, onwarn: (w) => void warnings.push(String(w.message)) });
    const code = out.output[0].code;
    expect(code).toMatch(/HeraldClient = class|class HeraldClient/);
    expect(code).toContain("WebSocket"); // the browser transport, not the ws package
    expect(code).not.toMatch(/from ["']node:|require\(["']node:|from ["'](fs|net|http|https|tls|crypto|events|ws)["']/);
    expect(warnings.filter((w) => /resolve|node built-in/i.test(w))).toEqual([]);
  });
});
