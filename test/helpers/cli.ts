// Runs the real `herald` executable (bin/herald.js → dist/) and collects what it prints.
import { spawn, type ChildProcess } from "node:child_process";
import { HERALD } from "./push-node.js";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

/** Starts `herald ...args`; env replaces the environment (PATH is kept); `input` is written to stdin and closed. */
export function startCli(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): CliProcess {
  const proc = spawn(process.execPath, [HERALD, ...args], { env: { PATH: process.env.PATH ?? "", ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  if (opts.input !== undefined) proc.stdin!.end(opts.input);
  else proc.stdin!.end();
  const done = new Promise<CliResult>((resolve) => proc.once("close", (code) => resolve({ code, stdout: out, stderr: err })));
  return { proc, stdout: () => out, stderr: () => err, done };
}

export function cli(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}
