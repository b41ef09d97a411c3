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

/** Fields the kernel prints as plain numbers (no kB). */
const UNITLESS = new Set(["THPeligible", "ProtectionKey"]);

/**
 * Parse one "Name:   123 kB" line into `fields`. A line that looks like a
 * size ("kB" at the end, or any known smaps field) but does not parse is an
 * error, never a silent zero. Other "Name: text" lines are new kernel fields
 * and are skipped.
 */
function parseField(line: string, fields: SmapsFields, file: string, lineNo: number): void {
  const m = FIELD.exec(line);
  // A size field must carry its unit: "Pss:   2" at the end of a cut file is not 2 bytes.
  if (m && (line.endsWith("kB") || UNITLESS.has(m[1]!) || !KNOWN_SIZES.has(m[1]!))) {
    const value = Number(m[2]);
    fields[m[1]!] = line.endsWith("kB") ? value * 1024 : value;
    return;
  }
  const name = /^([A-Za-z_]+):/.exec(line)?.[1];
  if (name === undefined) throw new ParseError(file, lineNo, `unrecognised line ${JSON.stringify(line)}`);
  if (/kB\s*$/.test(line) || KNOWN_SIZES.has(name) || UNITLESS.has(name)) throw new ParseError(file, lineNo, `bad value for ${name}: ${JSON.stringify(line)}`);
}

/** Size fields of 6.x smaps and smaps_rollup (fs/proc/task_mmu.c __show_smap). */
const KNOWN_SIZES = new Set([
  "Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem",
  "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM", "LazyFree",
  "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked",
]);

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
    parseField(line, cur.fields, file, i + 1);
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
    if (!sawHeader) throw new ParseError(file, i + 1, "field before the [rollup] header line");
    parseField(line, fields, file, i + 1);
  }
  // Rss and Pss follow the header; without them the file was cut short. (A kernel thread's is empty.)
  if (sawHeader) for (const need of ["Rss", "Pss"]) if (fields[need] === undefined) throw new ParseError(file, undefined, `no ${need} field (file truncated?)`);
  return fields;
}
