// The README's quick start, run literally: the shell lines after `npm start` (log in, publish, connect
// with the token) against a real embedded node, only the port changed. The message published between
// the login and the connection arrives.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, ROOT, type NodeProcess } from "./helpers/push-node.js";

const run = promisify(execFile);
let node: NodeProcess;

beforeAll(async () => {
  node = await startNode({ HERALD_NODE_ID: "readme" });
});
afterAll(async () => {
  await node?.stop();
});

describe("README quick start", () => {
  it("log in, publish, then connect with the token: the message arrives", async () => {
    const readme = readFileSync(`${ROOT}README.md`, "utf8");
    const block = /## Try it in a minute\n```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeTruthy();
    const lines = block!.split("\n");
    expect(lines[0]).toMatch(/^npm install && npm start/);
    const script = lines.slice(1).join("\n").replaceAll("localhost:3000", `127.0.0.1:${node.port}`);
    expect(script).toMatch(/v1\/login[\s\S]*v1\/publish[\s\S]*io\(node\.url/); // that order: the message is published before the client connects
    const { stdout } = await run("bash", ["-euc", script], { cwd: ROOT, timeout: 30_000 });
    expect(stdout).toMatch(/^\{"id":"[0-9a-f-]{36}","duplicate":false\}/); // the publish answer (curl prints no newline)
    expect(stdout.trimEnd().endsWith('{"hello":"world"}')).toBe(true); // the client's message
  });
});
