/**
 * `--from FILE`: a ProcFs backend that answers from a capture, exactly as
 * the machine answered when the capture was taken: the same contents, the
 * same errors (a process that was gone, a file the kernel refused), the same
 * words. What the capture did not record is a CaptureMissingError, never an
 * empty file or a zero word. It never writes and never touches the machine
 * it runs on.
 */
import { PM_FRAME_HI_MASK, PM_PRESENT_HI, TWO_32 } from "../decode/pagemap.js";
import { ProcReadError } from "../errors.js";
import { mapOpenError, U64File, type ProcBackend } from "../procfs/procfs.js";
import { CaptureFormatError, CaptureMissingError } from "./errors.js";
import type { CaptureContents, RecordedError } from "./format.js";
import { WordTable } from "./words.js";

function replay(e: RecordedError, file: string, pid: number | undefined): Error {
  if (e.code !== undefined) return mapOpenError(Object.assign(new Error(e.code), { code: e.code }), file, pid);
  return new ProcReadError(file, e.reason ?? "error");
}

const absent = (e: RecordedError | undefined): boolean => e?.code === "ENOENT" || e?.code === "ENOTDIR";

/**
 * Which capture option records what a capture left out on purpose
 * (take.ts): at --level ps, the kpage words of pages a scan settles from
 * pagemap alone and kpagecgroup; below --level all (the default), smaps and
 * the whole kpageflags. Undefined for anything else (a process that was not there).
 */
function optionFor(file: string, exact: boolean, full: boolean): string | undefined {
  if (/\/smaps$/.test(file)) return full ? undefined : "pagelens capture records it at its default --level all";
  if (/\/kpageflags$/.test(file)) return full ? undefined : exact ? "pagelens capture records it at its default --level all" : "pagelens capture --level pages records it, the default --level all the whole file";
  if (/\/kpage(count|cgroup)$/.test(file)) return exact ? undefined : "pagelens capture --level pages records it";
  return undefined;
}

/** A word file served from a capture: the U64File interface, no file descriptor. */
class CaptureU64File extends U64File {
  constructor(
    file: string,
    private readonly procPid: number | undefined,
    private readonly table: WordTable,
    private readonly capture: string,
    private readonly failed: RecordedError | undefined,
    private readonly bytes: number | undefined,
    /** For pagemap: PFNs must lie below this (the machine's kpageflags end), as the kernel guarantees. */
    private readonly pfnLimit: number | undefined,
    /** Say which capture option would have recorded the words a read misses. */
    private readonly hint: string | undefined,
  ) {
    super(file, -1, procPid);
  }

  private readAt(index: number, count: number, into: Uint8Array, at: number): number {
    try {
      const got = this.table.read(index, count, into, at, this.capture, this.file);
      if (this.pfnLimit !== undefined && got > 0) this.checkPfns(into, at, got);
      return got;
    } catch (err) {
      // Words past the point where the process exited: replay its exit, as the machine did.
      if (err instanceof CaptureMissingError && this.failed) throw replay(this.failed, this.file, this.procPid);
      if (err instanceof CaptureMissingError && this.hint) throw new CaptureMissingError(err.capture, err.what, this.hint);
      throw err;
    }
  }

  /**
   * A hostile capture could name a PFN no machine has; the kernel never
   * does, and the scan engine sizes its tables from the PFNs it sees.
   */
  private checkPfns(into: Uint8Array, at: number, got: number): void {
    const dv = new DataView(into.buffer, into.byteOffset + at, got * 8);
    const limit = this.pfnLimit!;
    for (let k = 0; k < got; k++) {
      const hi = dv.getUint32(k * 8 + 4, true);
      if ((hi & PM_PRESENT_HI) === 0) continue;
      const pfn = (hi & PM_FRAME_HI_MASK) * TWO_32 + dv.getUint32(k * 8, true);
      if (pfn >= limit) throw new CaptureFormatError(this.capture, `${this.file} names page frame ${pfn}, beyond the ${limit} the machine had`);
    }
  }

  override readWords(index: number, count: number, into: Uint8Array, at = 0): number {
    return this.readAt(index, count, into, at);
  }

  override readWordsAsync(index: number, count: number, into: Uint8Array, at = 0): Promise<number> {
    try {
      return Promise.resolve(this.readAt(index, count, into, at));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  override writeWords(): number {
    throw new ProcReadError(this.file, "a capture cannot be written to");
  }

  override close(): void {}

  override size(): number | undefined {
    return this.bytes;
  }
}

export class CaptureBackend implements ProcBackend {
  readonly live = false;
  readonly capturedAt: string;
  private readonly tables = new Map<string, WordTable>();

  constructor(
    private readonly c: CaptureContents,
    /** The capture file's name, for messages. */
    private readonly name: string,
  ) {
    this.pidSet = new Set(c.meta.pids ?? []);
    this.capturedAt = c.manifest.time;
    this.full = c.manifest.full !== false;
    this.exact = this.full || c.manifest.exact !== false;
  }

  /** Taken at --level all (full), pages or all (exact), or before the levels existed, when everything was recorded. */
  private readonly full: boolean;
  private readonly exact: boolean;

  private hintFor(file: string): string | undefined {
    return optionFor(file, this.exact, this.full);
  }

  private readonly pidSet: ReadonlySet<number>;

  /** An unrecorded file, or, for a process that did not exist when the capture listed them all, ENOENT as the machine said. */
  private missing(what: string, pid?: number): Error {
    if (pid !== undefined && this.c.meta.pidsComplete && !this.pidSet.has(pid)) return replay({ code: "ENOENT" }, what, pid);
    return new CaptureMissingError(this.name, what, this.hintFor(what));
  }

  private error(file: string): RecordedError | undefined {
    return Object.hasOwn(this.c.meta.errors, file) ? this.c.meta.errors[file] : undefined;
  }

  checkRoot(): void {}

  listPids(root: string): number[] {
    if (this.c.meta.pids === null) throw this.missing(`the process list of ${root}`);
    return [...this.c.meta.pids];
  }

  readText(file: string, pid: number | undefined): string {
    const data = this.c.files.get(file);
    if (data !== undefined) return Buffer.from(data.buffer, data.byteOffset, data.length).toString("utf8");
    const e = this.error(file);
    if (e) throw replay(e, file, pid);
    throw this.missing(file, pid);
  }

  readOptionalText(file: string): string | undefined {
    if (absent(this.error(file))) return undefined;
    return this.readText(file, undefined);
  }

  readOptionalBytes(file: string): Uint8Array | undefined {
    const data = this.c.files.get(file);
    if (data !== undefined) return data;
    const e = this.error(file);
    if (absent(e)) return undefined;
    if (e) throw replay(e, file, undefined);
    throw this.missing(file);
  }

  readSysDir(dir: string): { ino: number; subdirs: string[] } | undefined {
    if (Object.hasOwn(this.c.meta.dirs, dir)) return this.c.meta.dirs[dir] ?? undefined;
    const e = this.error(dir);
    if (e) throw replay(e, dir, undefined);
    throw this.missing(`the directory ${dir}`);
  }

  exists(file: string): boolean {
    if (Object.hasOwn(this.c.meta.exists, file)) return this.c.meta.exists[file]!;
    throw this.missing(`whether ${file} exists`);
  }

  ownerOf(dir: string): number | undefined {
    if (Object.hasOwn(this.c.meta.owners, dir)) return this.c.meta.owners[dir] ?? undefined;
    throw this.missing(`the owner of ${dir}`);
  }

  openU64(file: string, pid: number | undefined): U64File {
    let table = this.tables.get(file);
    if (table === undefined) {
      const data = this.c.words.get(file);
      if (data === undefined) {
        const e = this.error(file);
        if (e) throw replay(e, file, pid);
        throw this.missing(file, pid);
      }
      table = WordTable.decode(data, this.name);
      this.tables.set(file, table);
    }
    const failed = Object.hasOwn(this.c.meta.wordErrors, file) ? this.c.meta.wordErrors[file] : undefined;
    const size = Object.hasOwn(this.c.meta.sizes, file) ? (this.c.meta.sizes[file] ?? undefined) : undefined;
    return new CaptureU64File(file, pid, table, this.name, failed, size, /\/pagemap$/.test(file) ? this.pfnLimit() : undefined, this.hintFor(file));
  }

  /** The machine's PFN count: where its kpageflags ended, and no more than 2^36 pages (256 TiB) in any case. */
  private pfnLimit(): number {
    const cap = 2 ** 36;
    const flags = [...this.c.words.keys()].find((k) => /\/kpageflags$/.test(k));
    if (flags === undefined) return cap;
    try {
      const key = flags;
      let t = this.tables.get(key);
      if (t === undefined) {
        t = WordTable.decode(this.c.words.get(key)!, this.name);
        this.tables.set(key, t);
      }
      return Math.min(cap, t.end);
    } catch {
      return cap;
    }
  }
}
