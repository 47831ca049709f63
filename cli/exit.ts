// Exit codes a script can rely on (docs/cli.md), and the one way a command fails: throw CliError.

export const EXIT = {
  OK: 0,
  /** Something unexpected (a bug): the message says what. */
  FAILURE: 1,
  /** Bad arguments or options, unknown command (sysexits EX_USAGE). */
  USAGE: 64,
  /** The server refused the input: 400, 404, 409, 413, 415, or a message of a batch refused (EX_DATAERR). */
  REFUSED: 65,
  /** The node could not be reached, or answered 429/5xx: trying again later may work (EX_UNAVAILABLE). */
  UNAVAILABLE: 69,
  /** Credentials refused: a bad publish key, a login refused, an expired token (401/403, EX_NOPERM). */
  DENIED: 77,
  /** The configuration is invalid (`herald check-config`, `herald push-node`; EX_CONFIG). */
  CONFIG: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(readonly exitCode: ExitCode, message: string) {
    super(message);
  }
}

/** The exit code for an HTTP status that is not a success. Pure. */
export function exitForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.DENIED;
  if (status === 429 || status >= 500) return EXIT.UNAVAILABLE;
  if (status >= 400) return EXIT.REFUSED;
  return EXIT.FAILURE;
}

/** Runs a command's body: a CliError prints its message and exits with its code. */
export async function run(name: string, body: () => Promise<void | number>): Promise<void> {
  try {
    const code = await body();
    if (typeof code === "number") process.exitCode = code;
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`herald ${name}: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`herald ${name}: ${(err as Error).stack ?? err}\n`);
    process.exit(EXIT.FAILURE);
  }
}
