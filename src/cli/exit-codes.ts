/**
 * Exit codes (documented in the README). A pure mapping from what went wrong
 * to a number, so scripts can tell bad usage from bad data from privilege.
 */
import { KernelFeatureError, NoSuchProcessError, ParseError, PermissionError, ProcReadError, ProcessGoneError, UsageError } from "../errors.js";

export const EXIT = {
  ok: 0,
  /** An unexpected internal error (a bug: please report it). */
  internal: 1,
  /** Bad command line: unknown option, bad option value, missing argument. */
  usage: 2,
  /** A file could not be read or parsed: malformed, truncated, missing (e.g. a bad --root tree). */
  badInput: 3,
  /** The requested process does not exist (or exited before it could be read). */
  noSuchProcess: 4,
  /** The kernel refused access to what was asked for. */
  permission: 5,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof NoSuchProcessError || err instanceof ProcessGoneError) return EXIT.noSuchProcess;
  if (err instanceof PermissionError) return EXIT.permission;
  if (err instanceof ParseError || err instanceof ProcReadError || err instanceof KernelFeatureError) return EXIT.badInput;
  return EXIT.internal;
}
