/** Parser for /proc/PID/status ("Key:\tvalue" lines). */
import { ParseError } from "../errors.js";

export interface ProcessStatus {
  /** The true name (comm), unescaped: the bytes /proc/PID/comm holds, decoded. */
  readonly name: string;
  readonly ppid: number;
  readonly tgid: number;
  /** Real, effective, saved and filesystem uid. */
  readonly uids: readonly number[];
  readonly threads: number | undefined;
  /** Present for user processes; kernel threads have no Vm* lines. */
  readonly vmRssBytes: number | undefined;
  readonly raw: Readonly<Record<string, string>>;
}

export function parseStatus(text: string, file = "status"): ProcessStatus {
  const raw: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    // Name is printed after one tab and may itself begin or end with spaces: keep them.
    raw[key] = key === "Name" ? line.slice(colon + 1).replace(/^\t/, "") : line.slice(colon + 1).trim();
  }
  const num = (key: string): number => {
    const v = raw[key];
    if (v === undefined || !/^-?[0-9]+$/.test(v)) throw new ParseError(file, undefined, `missing or bad ${key}: field`);
    return Number(v);
  };
  const uidText = raw["Uid"];
  if (uidText === undefined || !/^[0-9]+(\s+[0-9]+)*$/.test(uidText)) throw new ParseError(file, undefined, "missing or bad Uid: field");
  const rss = raw["VmRSS"];
  return {
    name: unescapeStatusName(raw["Name"] ?? ""),
    ppid: num("PPid"),
    tgid: num("Tgid"),
    uids: uidText.split(/\s+/).map(Number),
    threads: raw["Threads"] === undefined ? undefined : Number(raw["Threads"]),
    vmRssBytes: rss === undefined ? undefined : Number(rss.replace(/\s*kB$/, "")) * 1024,
    raw,
  };
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
