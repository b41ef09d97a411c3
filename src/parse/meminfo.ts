/** Parsers for /proc/meminfo and /proc/swaps. */
import { ParseError } from "../errors.js";

/** meminfo values: sizes in bytes; the unitless HugePages_* counts as printed. */
export type Meminfo = Readonly<Record<string, number>>;

export function parseMeminfo(text: string, file = "meminfo"): Meminfo {
  const out: Record<string, number> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const m = /^([A-Za-z0-9_()]+):\s+([0-9]+)( kB)?$/.exec(line);
    if (!m) throw new ParseError(file, i + 1, `unrecognised line ${JSON.stringify(line)}`);
    out[m[1]!] = Number(m[2]) * (m[3] ? 1024 : 1);
  }
  if (out["MemTotal"] === undefined) throw new ParseError(file, undefined, "no MemTotal line");
  return out;
}

/** The kernel's seq_file_path escaping: space, tab, newline and backslash as \ooo octal. */
export function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export interface SwapArea {
  readonly filename: string;
  readonly type: string;
  readonly sizeBytes: number;
  readonly usedBytes: number;
  readonly priority: number;
}

/** /proc/swaps: a header line, then one line per active swap area (sizes in kB). */
export function parseSwaps(text: string, file = "swaps"): SwapArea[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) return [];
  if (!lines[0]!.startsWith("Filename")) throw new ParseError(file, 1, "missing the Filename header");
  return lines.slice(1).map((line, i) => {
    // The file name may contain spaces (escaped as \040 by the kernel); the last four fields are fixed.
    const m = /^(.*\S)\s+(\S+)\s+([0-9]+)\s+([0-9]+)\s+(-?[0-9]+)\s*$/.exec(line);
    if (!m) throw new ParseError(file, i + 2, `unrecognised line ${JSON.stringify(line)}`);
    return {
      filename: unescapeOctal(m[1]!),
      type: m[2]!,
      sizeBytes: Number(m[3]) * 1024,
      usedBytes: Number(m[4]) * 1024,
      priority: Number(m[5]),
    };
  });
}
