/**
 * Typed errors. Every error that reaches the user names the file or argument
 * it is about and the reason, so the message alone says what to do next.
 */

/** Base class: something about a file under the procfs root (or a snapshot) went wrong. */
export class PagelensError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A file could not be read for a reason other than the ones below. */
export class ProcReadError extends PagelensError {
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read ${file}: ${reason}`, options);
  }
}

/**
 * The process went away (ENOENT/ESRCH on open, or EOF from pagemap of an
 * exited process). Normal on a live machine: callers count it and move on.
 */
export class ProcessGoneError extends PagelensError {
  constructor(
    readonly pid: number,
    readonly file: string,
  ) {
    super(`process ${pid} exited while ${file} was being read`);
  }
}

/** The kernel refused access (EACCES/EPERM). `hint` says which privilege is missing. */
export class PermissionError extends PagelensError {
  constructor(
    readonly file: string,
    readonly hint: string,
  ) {
    super(`permission denied: ${file} (${hint})`);
  }
}

/** A file's content is not what the kernel writes: a malformed line or a truncated binary file. */
export class ParseError extends PagelensError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`cannot parse ${file}${line === undefined ? "" : ` line ${line}`}: ${reason}`);
  }
}

/** A bad command-line argument or option value. */
export class UsageError extends PagelensError {}

/** The named process does not exist. */
export class NoSuchProcessError extends PagelensError {
  constructor(readonly pid: number) {
    super(`no such process: ${pid}`);
  }
}

/** Classify a Node.js system error code for a /proc file. */
export function errnoOf(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * The running kernel (or this tree) lacks what the command needs, e.g. idle
 * page tracking or soft-dirty for `wss --method`. Not a bug and not a bad
 * argument: the machine cannot answer (exit 3, as for an unreadable input).
 */
export class KernelFeatureError extends PagelensError {
  constructor(
    readonly feature: string,
    readonly reason: string,
  ) {
    super(`${feature} is not available here: ${reason}`);
  }
}
