/**
 * Parser for /proc/PID/maps (fs/proc/task_mmu.c show_map_vma):
 *   start-end perms offset major:minor inode[padding]name
 * Names may contain spaces; only "\n" is escaped (as \012); unlinked files
 * end in " (deleted)"; special names are [heap], [stack], [vdso], [vvar],
 * [vvar_vclock], [vsyscall], [uprobes], [anon:NAME] and [anon_shmem:NAME].
 */
import { ParseError } from "../errors.js";

export type VmaKind =
  | "file" // backed by a file in the page cache
  | "anon" // private anonymous, unnamed
  | "anon-named" // [anon:NAME]
  | "shmem" // shared anonymous, SysV shm, memfd, [anon_shmem:NAME]
  | "hugetlb" // /anon_hugepage or a hugetlbfs file (the latter only known with mount info)
  | "heap"
  | "stack"
  | "vdso"
  | "vvar" // [vvar], [vvar_vclock]: PFN maps, never counted by the kernel
  | "vsyscall" // above TASK_SIZE: pagemap has nothing for it
  | "special"; // [uprobes] and other bracketed names

export interface Vma {
  /** Start address (inclusive). Exact below 2^53, which covers all user space. */
  readonly start: number;
  /** End address (exclusive). */
  readonly end: number;
  /** The address range as the kernel printed it, exact for [vsyscall] too. */
  readonly range: string;
  readonly perms: string;
  /** `s` in perms: VM_MAYSHARE (MAP_SHARED). Unrelated to whether pages are shared. */
  readonly mayShare: boolean;
  readonly offset: number;
  readonly dev: string;
  readonly inode: number;
  /** The name with \012 decoded; "" for unnamed anonymous memory. Includes " (deleted)". */
  readonly name: string;
  /** The name ends in " (deleted)" (the file was unlinked, or is an internal shmem/hugetlb file). */
  readonly deleted: boolean;
  readonly kind: VmaKind;
}

/** Classify a mapping from what maps shows. `hugetlbDevs` lists the devices of hugetlbfs mounts. */
export function classifyVma(name: string, inode: number, mayShare: boolean): VmaKind {
  if (name === "") return mayShare ? "shmem" : "anon";
  if (name.startsWith("[")) {
    if (name === "[heap]") return "heap";
    if (name === "[stack]" || name.startsWith("[stack:")) return "stack";
    if (name === "[vdso]") return "vdso";
    if (name === "[vvar]" || name === "[vvar_vclock]") return "vvar";
    if (name === "[vsyscall]") return "vsyscall";
    if (name.startsWith("[anon_shmem:")) return "shmem";
    if (name.startsWith("[anon:")) return "anon-named";
    return "special";
  }
  if (name === "/anon_hugepage (deleted)" || name.startsWith("/anon_hugepage")) return "hugetlb";
  if (/^\/(dev\/zero|SYSV[0-9a-f]{8}|memfd:.*) \(deleted\)$/.test(name) && inode !== 0) return "shmem";
  return "file";
}

/** Decode the kernel's seq_path escaping: only "\n" is escaped, as \012. */
function unescapeName(raw: string): string {
  return raw.includes("\\012") ? raw.replaceAll("\\012", "\n") : raw;
}

const HEX = /^[0-9a-f]+$/;

/** Parse one maps line; `file` and `lineNo` only feed the error message. */
export function parseMapsLine(line: string, file = "maps", lineNo?: number): Vma {
  // Five fields separated by single spaces, then padding, then the name.
  let p = 0;
  const next = (what: string): string => {
    const sp = line.indexOf(" ", p);
    if (sp < 0) throw new ParseError(file, lineNo, `missing ${what} in ${JSON.stringify(line)}`);
    const field = line.slice(p, sp);
    p = sp + 1;
    return field;
  };
  const range = next("address range");
  const perms = next("permissions");
  const offset = next("offset");
  const dev = next("device");
  // The inode is followed by a space and then optional padding and name; a
  // line without a name still ends in "0 ", but tolerate a missing trailing space.
  let inodeText: string;
  const sp = line.indexOf(" ", p);
  if (sp < 0) {
    inodeText = line.slice(p);
    p = line.length;
  } else {
    inodeText = line.slice(p, sp);
    p = sp + 1;
  }
  const dash = range.indexOf("-");
  const startHex = range.slice(0, dash);
  const endHex = range.slice(dash + 1);
  if (dash <= 0 || !HEX.test(startHex) || !HEX.test(endHex))
    throw new ParseError(file, lineNo, `bad address range ${JSON.stringify(range)}`);
  if (!/^[r-][w-][x-][sp]$/.test(perms)) throw new ParseError(file, lineNo, `bad permissions ${JSON.stringify(perms)}`);
  if (!HEX.test(offset)) throw new ParseError(file, lineNo, `bad offset ${JSON.stringify(offset)}`);
  if (!/^[0-9a-f]+:[0-9a-f]+$/.test(dev)) throw new ParseError(file, lineNo, `bad device ${JSON.stringify(dev)}`);
  if (!/^[0-9]+$/.test(inodeText)) throw new ParseError(file, lineNo, `bad inode ${JSON.stringify(inodeText)}`);
  const start = parseInt(startHex, 16);
  const end = parseInt(endHex, 16);
  if (end < start) throw new ParseError(file, lineNo, `end before start in ${JSON.stringify(range)}`);
  let q = p;
  while (q < line.length && line.charCodeAt(q) === 32) q++;
  const name = unescapeName(line.slice(q));
  const inode = Number(inodeText);
  const mayShare = perms[3] === "s";
  return {
    start,
    end,
    range,
    perms,
    mayShare,
    offset: parseInt(offset, 16),
    dev,
    inode,
    name,
    deleted: name.endsWith(" (deleted)"),
    kind: classifyVma(name, inode, mayShare),
  };
}

/**
 * The fixed fields of a line as the kernel prints them, matched in place
 * (sticky, at a line's start) by one regular expression: then the name
 * after the padding, to the end of the line.
 */
const LINE = /([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][sp]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) ([0-9]+)(?: +|(?=\n|$))/y;

/**
 * parseMapsLine for the line text[s, e), without slicing the line into
 * fields and testing each with a regular expression of its own: discovery
 * parses every process's maps, ~30 000 lines on a 1000-process machine, and
 * in a short-lived CLI this code runs cold, where one native match per line
 * costs a third less CPU than the field-by-field parse (and than a
 * character loop, which runs interpreted): docs/performance.md, section 7.
 * Returns undefined for anything it does not accept (then parseMapsLine
 * decides, with its own error or result), so both give the same Vma for
 * every line.
 */
/** Every permission string maps can print, by bits r=8 w=4 x=2 s=1: one shared string each. */
const PERMS: readonly string[] = Array.from({ length: 16 }, (_, b) => `${b & 8 ? "r" : "-"}${b & 4 ? "w" : "-"}${b & 2 ? "x" : "-"}${b & 1 ? "s" : "p"}`);
const permBits = (p: string): number => (p[0] === "r" ? 8 : 0) | (p[1] === "w" ? 4 : 0) | (p[2] === "x" ? 2 : 0) | (p[3] === "s" ? 1 : 0);

function parseMapsLineAt(text: string, s: number, e: number, last: { dev: string }): Vma | undefined {
  LINE.lastIndex = s;
  const m = LINE.exec(text);
  if (m === null || LINE.lastIndex > e) return undefined;
  const startHex = m[1]!;
  const endHex = m[2]!;
  const start = parseInt(startHex, 16);
  const end = parseInt(endHex, 16);
  if (end < start) return undefined;
  const at = LINE.lastIndex;
  const name = unescapeName(at === e ? "" : text.slice(at, e));
  // Every Vma lives as long as the scan: the strings each keeps are what the
  // young generation copies, so the 16 permission strings and the device of
  // the line before are shared (the match's own copies die young).
  const perms = PERMS[permBits(m[3]!)]!;
  const dev = m[5] === last.dev ? last.dev : (last.dev = m[5]!);
  const inode = Number(m[6]);
  const mayShare = perms[3] === "s";
  return {
    start,
    end,
    range: text.slice(s, s + startHex.length + 1 + endHex.length),
    perms,
    mayShare,
    offset: parseInt(m[4]!, 16),
    dev,
    inode,
    name,
    deleted: name.endsWith(" (deleted)"),
    kind: classifyVma(name, inode, mayShare),
  };
}

/** Parse a whole maps file. Blank lines are ignored; any other malformed line is an error. */
export function parseMaps(text: string, file = "maps"): Vma[] {
  const vmas: Vma[] = [];
  const last = { dev: "" };
  let lineNo = 0;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = text.length;
    lineNo++;
    if (nl > pos) vmas.push(parseMapsLineAt(text, pos, nl, last) ?? parseMapsLine(text.slice(pos, nl), file, lineNo));
    pos = nl + 1;
  }
  return vmas;
}
