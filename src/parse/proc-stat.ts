/**
 * /proc/PID/stat: only what pagelens needs from it, the process's start time
 * (field 22, in clock ticks since boot). A pid is reused once its process has
 * gone; pid and start time together name one process for as long as the
 * machine runs, so anything that follows processes over time (top's deltas)
 * keys on both.
 */
import { ParseError } from "../errors.js";

/**
 * Field 22 (starttime) of a stat line. The second field, (comm), may hold
 * spaces and parentheses (prctl(PR_SET_NAME) takes any bytes), so fields are
 * counted from the LAST ")" (fs/proc/array.c prints comm inside "()" as is).
 * After it come fields 3 (state) ... 52; starttime is the 20th of those.
 * Returned as text: it is a u64 that only has to compare equal.
 */
export function parseStatStartTime(text: string, file = "stat"): string {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new ParseError(file, undefined, "no ')' after the command name");
  const fields = text.slice(close + 1).trim().split(/\s+/);
  const start = fields[22 - 3];
  if (start === undefined || !/^[0-9]+$/.test(start)) throw new ParseError(file, undefined, "missing or bad starttime (field 22)");
  return start;
}
