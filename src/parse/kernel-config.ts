/** Parsers for kernel facts: the build config (/proc/config.gz, gunzipped by the reader) and osrelease. */

/** CONFIG_X -> "y" | "m" | value; options shown as "is not set" map to "n". */
export type KernelConfig = ReadonlyMap<string, string>;

/** Characters other than "\n" that `.` does not match (a line holding one matches neither pattern below). */
const OTHER_LINE_BREAKS = /[\r\u2028\u2029]/;
const OPTION_NAME = /^CONFIG_[A-Za-z0-9_]+$/;

/**
 * The config as a map that answers `get` by finding the option's line in
 * the text, and parses every line only when iterated or sized. Every run
 * probes the kernel, which reads six options of ~3000: parsing all 8000
 * lines (two regular expressions each) took 3.1-3.3 ms of every start
 * (docs/performance.md, section 7). Same answers as parseKernelConfigByLine.
 */
class KernelConfigText implements ReadonlyMap<string, string> {
  private parsed: Map<string, string> | undefined;

  constructor(private readonly text: string) {
    // A line break other than "\n" (never in a real config) makes line starts and ends subtle: parse it all.
    if (OTHER_LINE_BREAKS.test(text)) this.parsed = parseKernelConfigByLine(text);
  }

  private all(): Map<string, string> {
    return (this.parsed ??= parseKernelConfigByLine(this.text));
  }

  /**
   * Start of the last line that begins with `needle` (whole: that is exactly
   * `needle`), or -1. Searched forwards: indexOf skips ahead by the needle's
   * length where lastIndexOf steps back one character at a time.
   */
  private lastLine(needle: string, whole: boolean): number {
    const t = this.text;
    let found = -1;
    for (let at = t.indexOf(needle); at >= 0; at = t.indexOf(needle, at + 1)) {
      if (at > 0 && t.charCodeAt(at - 1) !== 10) continue;
      const end = at + needle.length;
      if (!whole || end === t.length || t.charCodeAt(end) === 10) found = at;
    }
    return found;
  }

  get(key: string): string | undefined {
    if (this.parsed) return this.parsed.get(key);
    if (!OPTION_NAME.test(key)) return undefined;
    // The last line naming the option wins, as in a map filled line by line.
    const set = this.lastLine(`${key}=`, false);
    const unset = this.lastLine(`# ${key} is not set`, true);
    if (set < 0 && unset < 0) return undefined;
    if (unset > set) return "n";
    const from = set + key.length + 1;
    const eol = this.text.indexOf("\n", from);
    return this.text.slice(from, eol < 0 ? this.text.length : eol).replace(/^"(.*)"$/, "$1");
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  get size(): number {
    return this.all().size;
  }

  forEach(fn: (value: string, key: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    this.all().forEach((v, k) => fn.call(thisArg, v, k, this));
  }

  entries(): MapIterator<[string, string]> {
    return this.all().entries();
  }

  keys(): MapIterator<string> {
    return this.all().keys();
  }

  values(): MapIterator<string> {
    return this.all().values();
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.all()[Symbol.iterator]();
  }
}

/** config.gz's text as a map (KernelConfigText: lines are found when asked for, not all parsed up front). */
export function parseKernelConfig(text: string): KernelConfig {
  return new KernelConfigText(text);
}

/** Every line, in order: the specification parseKernelConfig's answers follow. */
export function parseKernelConfigByLine(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    let m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) {
      out.set(m[1]!, m[2]!.replace(/^"(.*)"$/, "$1"));
      continue;
    }
    m = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (m) out.set(m[1]!, "n");
  }
  return out;
}

export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
  readonly release: string;
}

export function parseOsRelease(text: string): KernelVersion | undefined {
  const release = text.trim();
  const m = /^([0-9]+)\.([0-9]+)/.exec(release);
  return m ? { major: Number(m[1]), minor: Number(m[2]), release } : undefined;
}

export function versionAtLeast(v: KernelVersion | undefined, major: number, minor: number): boolean {
  return v !== undefined && (v.major > major || (v.major === major && v.minor >= minor));
}

/** /proc/PID/cgroup: "hierarchy-id:controllers:path" per line. */
export interface CgroupLine {
  readonly id: number;
  readonly controllers: readonly string[];
  readonly path: string;
}

export function parseCgroupFile(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9]+):([^:]*):(.*)$/.exec(line);
    if (m) out.push({ id: Number(m[1]), controllers: m[2] === "" ? [] : m[2]!.split(","), path: m[3]! });
  }
  return out;
}

/** The memory cgroup path: the v1 "memory" hierarchy, else the v2 unified one ("0::"). */
export function memoryCgroupPath(lines: readonly CgroupLine[]): string | undefined {
  return lines.find((l) => l.controllers.includes("memory"))?.path ?? lines.find((l) => l.id === 0)?.path;
}

/** Does a path (a regular expression's `.*`) hold a line terminator `.` does not match? */
const LINE_BREAK = /[\r\u2028\u2029]/;
const DIGITS = /^[0-9]+$/;

/**
 * memoryCgroupPath(parseCgroupFile(text)), the same answer for every input,
 * without a regular expression match and an object per line: discovery reads
 * every process's cgroup file (docs/performance.md, section 7).
 */
export function memoryCgroupOf(text: string): string | undefined {
  let unified: string | undefined;
  let pos = 0;
  while (pos <= text.length) {
    let nl = text.indexOf("\n", pos);
    if (nl < 0) nl = text.length;
    // "id:controllers:path": id digits, controllers without ":", path anything but a line break.
    const c1 = text.indexOf(":", pos);
    const c2 = c1 < 0 || c1 >= nl ? -1 : text.indexOf(":", c1 + 1);
    if (c1 > pos && c2 >= 0 && c2 < nl && DIGITS.test(text.slice(pos, c1))) {
      const path = text.slice(c2 + 1, nl);
      if (!LINE_BREAK.test(path)) {
        const ctl = text.slice(c1 + 1, c2);
        if (ctl === "memory" || ctl.startsWith("memory,") || ctl.endsWith(",memory") || ctl.includes(",memory,")) return path;
        if (unified === undefined && Number(text.slice(pos, c1)) === 0) unified = path;
      }
    }
    pos = nl + 1;
  }
  return unified;
}
