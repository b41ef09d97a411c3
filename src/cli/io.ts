/** Where the CLI writes: injected so tests capture output and run() never touches process.* itself. */
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
