// Requests between the bench and its forked workers over the IPC channel: {id, cmd, args} → {id, ok, value|error};
// messages without an id are events (e.g. the publisher's window marks).
import type { ChildProcess } from "node:child_process";

type Handler = (args: any) => Promise<unknown> | unknown;

export interface Rpc {
  pid: number;
  proc: ChildProcess;
  call<T = any>(cmd: string, args?: unknown): Promise<T>;
  /** Listens to events; returns a function that stops listening. */
  onEvent(fn: (event: any) => void): () => void;
}

export function rpcTo(proc: ChildProcess): Rpc {
  let next = 1;
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const listeners: ((e: any) => void)[] = [];
  proc.on("message", (m: any) => {
    if (m && typeof m.id === "number" && waiting.has(m.id)) {
      const w = waiting.get(m.id)!;
      waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new Error(m.error));
    } else for (const l of listeners) l(m);
  });
  proc.once("exit", (code, signal) => {
    for (const w of waiting.values()) w.reject(new Error(`worker ${proc.pid} exited (${code ?? signal}) before answering`));
    waiting.clear();
  });
  return {
    pid: proc.pid!,
    proc,
    call(cmd, args) {
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        proc.send({ id, cmd, args }, (err) => {
          if (err) {
            waiting.delete(id);
            reject(err);
          }
        });
      });
    },
    onEvent(fn) {
      listeners.push(fn);
      return () => void listeners.splice(listeners.indexOf(fn), 1);
    },
  };
}

/** In a worker: answer the bench's requests with these handlers; exit when the bench goes away. */
export function serve(handlers: Record<string, Handler>): void {
  process.on("message", async (m: any) => {
    const h = handlers[m?.cmd];
    try {
      if (!h) throw new Error(`unknown command ${m?.cmd}`);
      const value = await h(m.args);
      process.send!({ id: m.id, ok: true, value });
    } catch (err) {
      process.send!({ id: m.id, ok: false, error: (err as Error).stack ?? String(err) });
    }
  });
  process.on("disconnect", () => process.exit(0));
}

export function emit(event: unknown): void {
  process.send?.(event);
}
