/**
 * Typed errors. Every error that reaches the user names the file or argument
 * it is about and the reason, so the message alone says what to do next.
 * Errors from a system call carry its errno `code` (ENOENT, EACCES, ...):
 * callers decide on the code, never on the wording of a message.
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
  /** The errno code of the failed system call (e.g. "ENOENT", "EIO"); undefined when no system call failed. */
  readonly code: string | undefined;

  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown; code?: string },
  ) {
    super(`cannot read ${file}: ${reason}`, options);
    this.code = options?.code ?? errnoOf(options?.cause);
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
    /** ENOENT or ESRCH from the kernel, "EOF" for a pagemap that ended inside a mapping. */
    readonly code: string = "ENOENT",
  ) {
    super(`process ${pid} exited while ${file} was being read`);
  }
}

/** The kernel refused access (EACCES/EPERM). `hint` says which privilege is missing. */
export class PermissionError extends PagelensError {
  constructor(
    readonly file: string,
    readonly hint: string,
    readonly code: string = "EACCES",
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

/** A process asked for by pid refuses to be read (exit code: permission). `reason` names the file and the privilege. */
export class ProcessRefusedError extends PagelensError {
  constructor(
    readonly pid: number,
    readonly reason: string,
  ) {
    super(`cannot read process ${pid}: ${reason}`);
  }
}

/** A process asked for by pid has a malformed or unreadable file (exit code: bad input). `reason` names the file. */
export class ProcessInputError extends PagelensError {
  constructor(
    readonly pid: number,
    readonly reason: string,
  ) {
    super(`process ${pid}: ${reason}`);
  }
}

/** Standard output could not be written (disk full, device error); a closed pipe is not one of these. */
export class OutputError extends PagelensError {
  constructor(readonly code: string | undefined) {
    super(`cannot write the output: ${outputReason(code)}`);
  }
}

function outputReason(code: string | undefined): string {
  if (code === "ENOSPC") return "no space left on device (ENOSPC)";
  if (code === "EDQUOT") return "disk quota exceeded (EDQUOT)";
  if (code === "EFBIG") return "file too large (EFBIG)";
  if (code === "EIO") return "input/output error (EIO)";
  return code ?? "unknown error";
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

// ---------------------------------------------------------------------------
// The native calls (src/native/: mmap, mincore, madvise, cachestat, memfd,
// pwritev and the PAGEMAP_SCAN ioctl through koffi)

/**
 * The native calls cannot be made here (no koffi, another OS, a 32-bit
 * platform). Not a bug and not a bad argument: this machine cannot answer
 * (exit 3, as KernelFeatureError).
 */
export class NativeUnavailableError extends PagelensError {
  constructor(readonly reason: string) {
    super(`the page-cache interfaces (mmap, mincore, cachestat) are not reachable from Node here: ${reason}`);
  }
}

/**
 * A system call made through koffi failed. `code` is the errno name (ENOSYS,
 * EPERM, ...), `errno` its number, `file` the file the call was about
 * (undefined for a call on no file, such as memfd_create). Callers decide on
 * `code` or `errno`, never on the message. Exit code (when one reaches the
 * CLI): EACCES/EPERM permission (5), ESRCH no such process (4), anything
 * else bad input (3): the file could not be read that way.
 */
export class SyscallError extends PagelensError {
  constructor(
    readonly syscall: string,
    readonly code: string,
    readonly errno: number,
    readonly file?: string,
  ) {
    super(`${syscall}${file === undefined ? "" : ` on ${file}`} failed: ${code}`);
  }
}

/**
 * The PAGEMAP_SCAN ioctl is not usable here (Linux before 6.7, not a live
 * pagemap, a big-endian host, no koffi): the scan reads pagemap as before.
 * `code` is the errno name when the kernel said so (ENOTTY, EINVAL).
 */
export class ScanUnsupportedError extends PagelensError {
  constructor(
    readonly reason: string,
    readonly code?: string,
  ) {
    super(reason);
  }
}
