/** Where the CLI writes: injected so tests capture output and run() never touches process.* itself. */
import { errnoOf, OutputError } from "../errors.js";
import { EXIT } from "./exit-codes.js";

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Is stderr a terminal (progress is shown only then)? */
  readonly stderrIsTty: boolean;
  /** The terminal's width when stdout is a terminal (tables fit it); undefined when piped or redirected. */
  readonly stdoutColumns?: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function processIo(): CliIo {
  return {
    stdout: (t) => {
      process.stdout.write(t);
      // A closed pipe (`pagelens maps PID | head`) is seen synchronously here: stop at once, quietly,
      // rather than render the rest of a long table into a pipe nobody reads (the error event comes too late).
      if ((process.stdout.errored as NodeJS.ErrnoException | null)?.code === "EPIPE") process.exit(0);
    },
    stderr: (t) => process.stderr.write(t),
    stderrIsTty: process.stderr.isTTY === true,
    stdoutColumns: process.stdout.isTTY === true ? (process.stdout.columns ?? 80) : undefined,
    env: process.env,
  };
}

/**
 * What a failed write to stdout means, as an exit code, with the message to
 * print (none for a closed pipe). `pagelens | head -1` closes the pipe early:
 * EPIPE is the reader saying it has enough, a success. Anything else (ENOSPC
 * for `> /dev/full`, EIO, EFBIG) lost output: say so in one line, exit 6.
 */
export function stdoutFailure(err: unknown): { readonly code: number; readonly message: string | undefined } {
  const errno = errnoOf(err);
  if (errno === "EPIPE") return { code: EXIT.ok, message: undefined };
  return { code: EXIT.output, message: `pagelens: ${new OutputError(errno).message}\n` };
}
