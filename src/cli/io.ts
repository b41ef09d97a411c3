/** Where the CLI writes: injected so tests capture output and run() never touches process.* itself. */
import { errnoOf, OutputError } from "../errors.js";
import { EXIT } from "./exit-codes.js";

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Is stderr a terminal (progress is shown only then)? */
  readonly stderrIsTty: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stderrIsTty: process.stderr.isTTY === true,
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
