/**
 * Parsers for /proc/PID/smaps and /proc/PID/smaps_rollup
 * (fs/proc/task_mmu.c __show_smap). Sizes are printed in kB; they are
 * returned in bytes. VmFlags is kept as a list of two-letter codes.
 */
import { ParseError } from "../errors.js";
import { parseMapsLine, type Vma } from "./maps.js";

/** Every numeric smaps field, in bytes (or as printed for the few unitless ones). */
export type SmapsFields = Record<string, number>;

export interface SmapsEntry {
  readonly vma: Vma;
  readonly fields: SmapsFields;
  readonly vmFlags: readonly string[];
}

const FIELD = /^([A-Za-z_]+):\s+([0-9]+)(?: kB)?\s*$/;

function parseField(line: string, fields: SmapsFields, file: string, lineNo: number): boolean {
  const m = FIELD.exec(line);
  if (!m) return false;
  const value = Number(m[2]);
  fields[m[1]!] = line.endsWith("kB") ? value * 1024 : value;
  void file;
  void lineNo;
  return true;
}

function isHeader(line: string): boolean {
  return /^[0-9a-f]+-[0-9a-f]+ /.test(line);
}

/** Parse a full smaps file into one entry per VMA. */
export function parseSmaps(text: string, file = "smaps"): SmapsEntry[] {
  const out: { vma: Vma; fields: SmapsFields; vmFlags: string[] }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    if (isHeader(line)) {
      out.push({ vma: parseMapsLine(line, file, i + 1), fields: {}, vmFlags: [] });
      continue;
    }
    const cur = out[out.length - 1];
    if (!cur) throw new ParseError(file, i + 1, `field before the first mapping header: ${JSON.stringify(line)}`);
    if (line.startsWith("VmFlags:")) {
      cur.vmFlags = line.slice(8).trim().split(/\s+/).filter(Boolean);
      continue;
    }
    if (!parseField(line, cur.fields, file, i + 1)) {
      // Newer kernels add fields; a field we cannot read must not be silently wrong, but a
      // non-numeric field we do not know (e.g. a future text field) is ignored.
      if (!/^[A-Za-z_]+:/.test(line)) throw new ParseError(file, i + 1, `unrecognised line ${JSON.stringify(line)}`);
    }
  }
  return out;
}

/** Parse smaps_rollup: a `[rollup]` header line, then fields (bytes). */
export function parseSmapsRollup(text: string, file = "smaps_rollup"): SmapsFields {
  const fields: SmapsFields = {};
  const lines = text.split("\n");
  let sawHeader = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    if (isHeader(line)) {
      sawHeader = true;
      continue;
    }
    if (!parseField(line, fields, file, i + 1) && !/^[A-Za-z_]+:/.test(line))
      throw new ParseError(file, i + 1, `unrecognised line ${JSON.stringify(line)}`);
  }
  if (!sawHeader && lines.some((l) => l !== "")) throw new ParseError(file, 1, "missing the [rollup] header line");
  return fields;
}
