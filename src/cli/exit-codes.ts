/**
 * Exit codes (documented in the README and the man page). A pure mapping from
 * what went wrong to a number, so scripts can tell bad usage from bad data
 * from privilege.
 */
import {
  KernelFeatureError,
  NativeUnavailableError,
  NoSuchProcessError,
  OutputError,
  ParseError,
  PermissionError,
  ProcessGoneError,
  ProcessInputError,
  ProcessRefusedError,
  ProcReadError,
  ScanUnsupportedError,
  SyscallError,
  UsageError,
} from "../errors.js";

export const EXIT = {
  ok: 0,
  /** An unexpected internal error (a bug: please report it). */
  internal: 1,
  /** Bad command line: unknown option, bad option value, missing argument. */
  usage: 2,
  /**
   * A file could not be read or parsed: malformed, truncated, missing (e.g. a
   * bad --root tree, or a directory that is not a procfs tree). For a command
   * over many processes, one process's bad file leaves that process out (listed
   * as "bad input" with the reason) and the others are measured and printed,
   * with this exit code.
   */
  badInput: 3,
  /** A process asked for by pid does not exist, or exited before it could be read. */
  noSuchProcess: 4,
  /** The kernel refused access to what was asked for. */
  permission: 5,
  /** Standard output could not be written (disk full, I/O error). A closed pipe (`| head`) is a success. */
  output: 6,
} as const;

/** One line per exit code, for --help, the man page (scripts/gen-docs.mjs) and the README's table. */
export const EXIT_MEANINGS: readonly (readonly [number, string])[] = [
  [EXIT.ok, "success; processes that exited during the scan, refuse to be read or have no user memory are reported, not errors; also when the reader of a pipe stops early (| head)"],
  [EXIT.internal, "internal error (a bug; PAGELENS_DEBUG=1 prints the stack)"],
  [EXIT.usage, "bad command line: unknown option, bad option value, missing argument"],
  [
    EXIT.badInput,
    "a file could not be read or parsed (malformed, truncated, missing), or --root is not a procfs tree; commands over many processes still print the others, listing the bad one as bad input; or the machine lacks what the command needs (the page-cache interfaces of file, idle page tracking or soft-dirty for wss --method); or a system call on a file failed (mmap, mincore, cachestat: the errno is in the message)",
  ],
  [EXIT.noSuchProcess, "a process asked for by pid does not exist, or exited before it could be read"],
  [EXIT.permission, "the kernel refused access to what was asked for (also a system call refused with EPERM or EACCES)"],
  [EXIT.output, "the output could not be written (disk full, I/O error)"],
];

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  // A native call's failure, by its errno: refused is a permission matter, ESRCH a process that went away, the rest a file that could not be read that way.
  if (err instanceof SyscallError) return err.code === "EPERM" || err.code === "EACCES" ? EXIT.permission : err.code === "ESRCH" ? EXIT.noSuchProcess : EXIT.badInput;
  if (err instanceof NativeUnavailableError || err instanceof ScanUnsupportedError) return EXIT.badInput;
  if (err instanceof NoSuchProcessError || err instanceof ProcessGoneError) return EXIT.noSuchProcess;
  if (err instanceof PermissionError || err instanceof ProcessRefusedError) return EXIT.permission;
  if (err instanceof ParseError || err instanceof ProcReadError || err instanceof ProcessInputError || err instanceof KernelFeatureError) return EXIT.badInput;
  if (err instanceof OutputError) return EXIT.output;
  return EXIT.internal;
}

/**
 * The exit code of a command over several processes that printed its report:
 * bad input when a process was left out for a malformed or unreadable file,
 * otherwise success (processes that exited, refuse to be read or have no user
 * memory are part of a normal report, said in the notes).
 */
export function scanExitCode(scan: { readonly processes: readonly { readonly state: string }[] }): number {
  return scan.processes.some((p) => p.state === "bad-input") ? EXIT.badInput : EXIT.ok;
}
