/** Parser for /proc/PID/status ("Key:\tvalue" lines). */
import { ParseError } from "../errors.js";

/**
 * The fields pagelens uses, found by key (parseStatusFields): discovery reads
 * the status of every process, and building a dictionary of all ~55 lines
 * (two strings each) for the eight read here was most of discovery's
 * allocation on a 1000-process machine (docs/performance.md, section 7).
 */
export interface StatusFields {
  /** The true name (comm), unescaped: the bytes /proc/PID/comm holds, decoded. */
  readonly name: string;
  readonly ppid: number;
  readonly tgid: number;
  /** Real, effective, saved and filesystem uid. */
  readonly uids: readonly number[];
  readonly threads: number | undefined;
  /** Present for user processes; kernel threads have no Vm* lines. */
  readonly vmRssBytes: number | undefined;
  /** VmSwap; undefined for kernel threads. */
  readonly vmSwapBytes: number | undefined;
  /** "Kthread: 1" (6.x kernels): a kernel thread, no command line and no user memory. */
  readonly kthread: boolean;
}

export interface ProcessStatus extends StatusFields {
  readonly raw: Readonly<Record<string, string>>;
}

/**
 * The value of the line `key:` (everything after the colon, untrimmed), or
 * undefined. The last such line wins, as in a dictionary of all lines (the
 * kernel prints each key once). Only Name holds bytes a process chooses, and
 * status escapes its newlines, so "\nKey:" can only be a line's start.
 */
function valueOf(text: string, key: string): string | undefined {
  const head = key + ":";
  let at = text.lastIndexOf("\n" + head);
  if (at >= 0) at += 1;
  else if (text.startsWith(head)) at = 0;
  else return undefined;
  const from = at + head.length;
  const eol = text.indexOf("\n", from);
  return text.slice(from, eol < 0 ? text.length : eol);
}

const trimmed = (v: string | undefined): string | undefined => (v === undefined ? undefined : v.trim());

/** "1760 kB" -> bytes. */
const kbBytes = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v.replace(/\s*kB$/, "")) * 1024);

/** Only the fields of StatusFields, each looked up by key: no per-line strings. Same results and errors as parseStatus. */
export function parseStatusFields(text: string, file = "status"): StatusFields {
  const num = (key: string): number => {
    const v = trimmed(valueOf(text, key));
    if (v === undefined || !/^-?[0-9]+$/.test(v)) throw new ParseError(file, undefined, `missing or bad ${key}: field`);
    return Number(v);
  };
  const uidText = trimmed(valueOf(text, "Uid"));
  if (uidText === undefined || !/^[0-9]+(\s+[0-9]+)*$/.test(uidText)) throw new ParseError(file, undefined, "missing or bad Uid: field");
  const ppid = num("PPid");
  const tgid = num("Tgid");
  const threads = trimmed(valueOf(text, "Threads"));
  // Name is printed after one tab and may itself begin or end with spaces: keep them.
  const name = valueOf(text, "Name");
  return {
    name: unescapeStatusName(name === undefined ? "" : name.startsWith("\t") ? name.slice(1) : name),
    ppid,
    tgid,
    uids: uidText.split(/\s+/).map(Number),
    threads: threads === undefined ? undefined : Number(threads),
    vmRssBytes: kbBytes(trimmed(valueOf(text, "VmRSS"))),
    vmSwapBytes: kbBytes(trimmed(valueOf(text, "VmSwap"))),
    kthread: trimmed(valueOf(text, "Kthread")) === "1",
  };
}

/** Every line as `raw` (key -> trimmed value; Name untrimmed), plus the fields. */
export function parseStatus(text: string, file = "status"): ProcessStatus {
  const raw: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    raw[key] = key === "Name" ? line.slice(colon + 1).replace(/^\t/, "") : line.slice(colon + 1).trim();
  }
  return { ...parseStatusFields(text, file), raw };
}

/**
 * status prints Name through seq_escape_str(m, comm, ESCAPE_SPACE |
 * ESCAPE_SPECIAL, "\n\\") (fs/proc/array.c, proc_task_name): of all bytes,
 * only newline and backslash are escaped, as `\n` and `\\`. Undoing exactly
 * that gives the name /proc/PID/comm and stat hold, without a third read.
 */
export function unescapeStatusName(name: string): string {
  return name.includes("\\") ? name.replace(/\\(n|\\)/g, (_, c: string) => (c === "n" ? "\n" : "\\")) : name;
}

/** /proc/PID/cmdline: NUL-separated arguments; empty for kernel threads. */
export function parseCmdline(text: string): string[] {
  if (text === "") return [];
  const parts = text.split("\0");
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
}
