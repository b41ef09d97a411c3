/** Parsers for option values: each rejects bad input with a UsageError naming the option. */
import { UsageError } from "../errors.js";
import { UNITS, type Unit } from "../render/units.js";

export function parsePid(text: string, what = "PID"): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text.trim())) throw new UsageError(`${what}: expected a process id, got ${JSON.stringify(text)}`);
  return Number(text.trim());
}

/** "12,13,14" for an option named `option` (default --pid); a pid named twice counts once. */
export function parsePidList(text: string, option = "--pid"): number[] {
  const parts = text.split(",").filter((p) => p.trim() !== "");
  if (parts.length === 0) throw new UsageError(`${option}: expected a comma-separated list of process ids, got ${JSON.stringify(text)}`);
  return [...new Set(parts.map((p) => parsePid(p, option)))];
}

export function parseRegex(text: string, option: string): RegExp {
  try {
    return new RegExp(text);
  } catch (err) {
    throw new UsageError(`${option}: not a valid regular expression: ${(err as Error).message}`);
  }
}

export function parseUnit(text: string): Unit {
  if (!(UNITS as readonly string[]).includes(text)) throw new UsageError(`--units: expected one of ${UNITS.join(", ")}, got ${JSON.stringify(text)}`);
  return text as Unit;
}

/** "START-END" in hexadecimal addresses (0x optional), END exclusive; or a single address. */
export function parseAddressRange(text: string): { start: number; end: number } {
  const m = /^\s*(?:0x)?([0-9a-fA-F]+)\s*(?:-\s*(?:0x)?([0-9a-fA-F]+))?\s*$/.exec(text);
  if (!m) throw new UsageError(`--addr: expected START-END in hexadecimal (e.g. 7f0000000000-7f0000100000), got ${JSON.stringify(text)}`);
  const start = parseInt(m[1]!, 16);
  const end = m[2] === undefined ? start + 1 : parseInt(m[2], 16);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) throw new UsageError(`--addr: address too large in ${JSON.stringify(text)}`);
  if (end <= start) throw new UsageError(`--addr: END must be above START in ${JSON.stringify(text)}`);
  return { start, end };
}
