// The demo and status page (demo/ at the package root) and the SDK's browser build it imports
// (dist/browser, made by `npm run build`). Served at / when HERALD_DEMO_PAGE is on (the embedded default).
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Refusal } from "../refusal.js";

const PACKAGE_ROOT = new URL("../../../", import.meta.url); // dist/push-node/http/ → the package root

const FILES: Record<string, { file: URL; type: string }> = {
  "/": { file: new URL("demo/index.html", PACKAGE_ROOT), type: "text/html; charset=utf-8" },
  "/demo.js": { file: new URL("demo/demo.js", PACKAGE_ROOT), type: "text/javascript; charset=utf-8" },
  "/demo.css": { file: new URL("demo/demo.css", PACKAGE_ROOT), type: "text/css; charset=utf-8" },
  "/herald-client.browser.js": { file: new URL("dist/browser/herald-client.browser.js", PACKAGE_ROOT), type: "text/javascript; charset=utf-8" },
};

export function demoRoutes(): Record<string, Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>> {
  return Object.fromEntries(
    Object.entries(FILES).map(([path, { file, type }]) => [
      path,
      {
        GET: async (_req: IncomingMessage, res: ServerResponse) => {
          let body: Buffer;
          try {
            body = await readFile(file);
          } catch {
            throw new Refusal(404, "NOT_FOUND", `${path} is missing from this installation (run npm run build)`);
          }
          res.writeHead(200, { "content-type": type, "content-length": body.length, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
          res.end(body);
        },
      },
    ]),
  );
}
