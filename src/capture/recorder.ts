/**
 * `pagelens capture` reads the machine through this backend: it answers
 * every read from the real files (procfs.ts's own code) and keeps what came
 * back, errors included, so that a capture replays exactly what the
 * commands saw. The first answer for a file is the one kept: later reads of
 * the same file (meminfo before and after a census) get the live answer now
 * but the first one from the capture, so the capture is one consistent set.
 */
import * as fs from "node:fs";
import { errnoOf, PermissionError, ProcessGoneError, ProcReadError } from "../errors.js";
import { directoryBackend, mapOpenError, U64File, type ProcBackend } from "../procfs/procfs.js";
import type { RecordedError } from "./format.js";
import { WordRecorder } from "./words.js";

/** How a read failed, in the terms the capture replays (see backend.ts), or undefined for a failure not worth keeping. */
function recordable(err: unknown): RecordedError | undefined {
  if (err instanceof ProcessGoneError) return { code: "ESRCH" };
  if (err instanceof PermissionError) return { code: "EACCES" };
  if (err instanceof ProcReadError) {
    const code = errnoOf(err.cause);
    if (code !== undefined) return { code };
    if (/^ENOENT/.test(err.reason)) return { code: "ENOENT" };
    return { reason: err.reason };
  }
  return undefined;
}

/** One word file's recorded words (encoded as they arrive), and its stat size. */
export interface WordRecord {
  readonly words: WordRecorder;
  readonly size: number | undefined;
}

/**
 * A word file read whole, from word 0 to its end, on the I/O pool threads
 * (`inFlight` reads of `window` words at a time), kept in memory until
 * released: reads of that file made meanwhile (the scan's kpageflags
 * look-ups) are answered from it instead of asking the kernel again. Every
 * chunk is recorded as it arrives (the file is a recording one), so it is
 * also the recorded answer.
 *
 * Why: a capture records the whole kpageflags anyway (for `system` and
 * `flags`); the scan's own look-ups of the same words, ~1.4 M PFNs on the
 * reference workload, cost the kernel a second time what it had just done.
 */
export class WholeWords {
  private chunks: Array<Uint8Array | undefined> = [];
  /** Words in the file, once a read came back short. */
  private end = Infinity;
  private released = false;
  readonly done: Promise<void>;

  constructor(
    file: U64File,
    private readonly window: number,
    inFlight: number,
  ) {
    let next = 0;
    const reader = async (): Promise<void> => {
      while (next * window < this.end) {
        const k = next++;
        const buf = new Uint8Array(window * 8);
        const got = await file.readWordsAsync(k * window, window, buf);
        if (got < window) this.end = Math.min(this.end, k * window + got);
        if (!this.released) this.chunks[k] = got < window ? buf.subarray(0, got * 8) : buf;
      }
    };
    // Every reader settles before the file is closed, so no read is left in flight on a closed (or reused) fd.
    this.done = Promise.allSettled(Array.from({ length: inFlight }, reader)).then((results) => {
      file.close();
      for (const r of results) if (r.status === "rejected") throw r.reason;
    });
  }

  /** Words [index, index + count) into `into` at byte `at` if all are in memory (fewer at the end of the file); else undefined. */
  tryRead(index: number, count: number, into: Uint8Array, at: number): number | undefined {
    if (this.released) return undefined;
    const n = Math.max(0, Math.min(count, this.end - index));
    const w = this.window;
    for (let k = Math.floor(index / w); k * w < index + n; k++) if (this.chunks[k] === undefined) return undefined;
    let o = 0;
    while (o < n) {
      const i = index + o;
      const k = Math.floor(i / w);
      const chunk = this.chunks[k]!;
      const from = (i - k * w) * 8;
      const take = Math.min(n - o, chunk.length / 8 - (i - k * w));
      into.set(chunk.subarray(from, from + take * 8), at + o * 8);
      o += take;
    }
    return n;
  }

  /** Let the memory go (the reads still under way are recorded, not kept). */
  release(): void {
    this.released = true;
    this.chunks = [];
  }
}

class RecordingU64File extends U64File {
  constructor(
    private readonly inner: U64File,
    pid: number | undefined,
    private readonly rec: WordRecord,
    private readonly onError: (e: RecordedError) => void,
    private readonly whole: WholeWords | undefined,
  ) {
    super(inner.file, -1, pid);
  }

  private keep(index: number, count: number, got: number, into: Uint8Array, at: number): void {
    this.rec.words.record(index, count, got, into, at);
  }

  private failed(err: unknown): never {
    const e = recordable(err);
    if (e) this.onError(e);
    throw err;
  }

  override readWords(index: number, count: number, into: Uint8Array, at = 0): number {
    const held = this.whole?.tryRead(index, count, into, at);
    if (held !== undefined) return held;
    let got: number;
    try {
      got = this.inner.readWords(index, count, into, at);
    } catch (err) {
      this.failed(err);
    }
    this.keep(index, count, got, into, at);
    return got;
  }

  override async readWordsAsync(index: number, count: number, into: Uint8Array, at = 0): Promise<number> {
    if (this.whole) {
      const held = this.whole.tryRead(index, count, into, at);
      if (held !== undefined) return held;
      // Not read yet: wait for the whole read rather than ask the kernel twice (on failure, ask it).
      await this.whole.done.catch(() => undefined);
      const late = this.whole.tryRead(index, count, into, at);
      if (late !== undefined) return late;
    }
    let got: number;
    try {
      got = await this.inner.readWordsAsync(index, count, into, at);
    } catch (err) {
      this.failed(err);
    }
    this.keep(index, count, got, into, at);
    return got;
  }

  override writeWords(): number {
    throw new ProcReadError(this.file, "pagelens capture only reads");
  }

  override close(): void {
    this.inner.close();
  }

  override size(): number | undefined {
    return this.rec.size;
  }
}

export class RecordingBackend implements ProcBackend {
  readonly live = true;
  private readonly inner = directoryBackend();
  readonly files = new Map<string, Uint8Array>();
  readonly words = new Map<string, WordRecord>();
  readonly errors: Record<string, RecordedError> = Object.create(null) as Record<string, RecordedError>;
  readonly wordErrors: Record<string, RecordedError> = Object.create(null) as Record<string, RecordedError>;
  readonly dirs: Record<string, { ino: number; subdirs: string[] } | null> = Object.create(null) as Record<string, { ino: number; subdirs: string[] } | null>;
  readonly exist: Record<string, boolean> = Object.create(null) as Record<string, boolean>;
  readonly owners: Record<string, number | null> = Object.create(null) as Record<string, number | null>;
  pids: number[] | null = null;
  private readonly whole = new Map<string, WholeWords>();

  private attempt<T>(file: string, read: () => T): T {
    try {
      return read();
    } catch (err) {
      const e = recordable(err);
      if (e && !this.files.has(file) && !(file in this.errors)) this.errors[file] = e;
      throw err;
    }
  }

  private keepText(file: string, text: string | undefined): void {
    if (text !== undefined && !this.files.has(file) && !(file in this.errors)) this.files.set(file, Buffer.from(text, "utf8"));
  }

  checkRoot(root: string): void {
    this.inner.checkRoot(root);
  }

  listPids(root: string): number[] {
    const pids = this.inner.listPids(root);
    this.pids ??= pids;
    return pids;
  }

  readText(file: string, pid: number | undefined): string {
    const text = this.attempt(file, () => this.inner.readText(file, pid));
    this.keepText(file, text);
    return text;
  }

  readOptionalText(file: string): string | undefined {
    const text = this.attempt(file, () => this.inner.readOptionalText(file));
    if (text === undefined && !this.files.has(file)) this.errors[file] ??= { code: "ENOENT" };
    this.keepText(file, text);
    return text;
  }

  readOptionalBytes(file: string): Uint8Array | undefined {
    const data = this.attempt(file, () => this.inner.readOptionalBytes(file));
    if (data === undefined) {
      if (!this.files.has(file)) this.errors[file] ??= { code: "ENOENT" };
    } else if (!this.files.has(file) && !(file in this.errors)) this.files.set(file, Uint8Array.from(data));
    return data;
  }

  readSysDir(dir: string): { ino: number; subdirs: string[] } | undefined {
    const d = this.attempt(dir, () => this.inner.readSysDir(dir));
    if (!(dir in this.dirs)) this.dirs[dir] = d ?? null;
    return d;
  }

  exists(file: string): boolean {
    const yes = this.inner.exists(file);
    this.exist[file] ??= yes;
    return yes;
  }

  ownerOf(dir: string): number | undefined {
    const uid = this.inner.ownerOf(dir);
    if (!(dir in this.owners)) this.owners[dir] = uid ?? null;
    return uid;
  }

  openU64(file: string, pid: number | undefined): U64File {
    const inner = this.attempt(file, () => this.inner.openU64(file, pid));
    let rec = this.words.get(file);
    if (rec === undefined) {
      rec = { words: new WordRecorder(), size: inner.size() };
      this.words.set(file, rec);
    }
    return new RecordingU64File(
      inner,
      pid,
      rec,
      (e) => {
        this.wordErrors[file] ??= e;
      },
      this.whole.get(file),
    );
  }

  /** Start reading `file` whole on the pool threads; until released, reads of it are answered from memory (WholeWords). */
  readWhole(file: string, window: number, inFlight: number): WholeWords {
    const f = this.openU64(file, undefined) as RecordingU64File;
    const w = new WholeWords(f, window, inFlight);
    this.whole.set(file, w);
    return w;
  }

  /**
   * A text file's bytes read on a pool thread and recorded as they are
   * (the per-process files only the views read, e.g. smaps: several at
   * once, while the main thread does other work). Undefined when it was
   * already recorded or the read failed with an error that is recorded.
   */
  async recordTextAsync(file: string, pid: number | undefined): Promise<void> {
    if (this.files.has(file) || file in this.errors) return;
    let data: Uint8Array;
    try {
      data = await readFileAsync(file, pid);
    } catch (err) {
      const e = recordable(err);
      if (e === undefined) throw err;
      if (!this.files.has(file) && !(file in this.errors)) this.errors[file] = e;
      return;
    }
    if (!this.files.has(file) && !(file in this.errors)) this.files.set(file, data);
  }
}

/** Same limit as procfs.ts's text reads. */
const MAX_TEXT_BYTES = 256 * 1024 * 1024;

/**
 * A /proc text file (stat size 0) read to its end on the pool threads. The
 * kernel's seq_file fills as much of a read as it is given, so a 256 KiB
 * buffer takes most smaps files in one read.
 */
async function readFileAsync(file: string, pid: number | undefined): Promise<Uint8Array> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, "r");
  } catch (err) {
    throw mapOpenError(err, file, pid);
  }
  // One buffer per read in flight, reused: a fresh 256 KiB per file was ~150 MB of garbage per capture.
  let buf = readBufs.pop() ?? Buffer.allocUnsafe(READ_BUF);
  try {
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (len >= MAX_TEXT_BYTES) throw new ProcReadError(file, `larger than ${MAX_TEXT_BYTES} bytes`);
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      let got: number;
      try {
        got = (await fh.read(buf, len, buf.length - len, null)).bytesRead;
      } catch (err) {
        throw mapOpenError(err, file, pid);
      }
      if (got === 0) break;
      len += got;
    }
    return Uint8Array.prototype.slice.call(buf, 0, len);
  } finally {
    if (buf.length === READ_BUF) readBufs.push(buf);
    await fh.close();
  }
}

const READ_BUF = 256 * 1024;
const readBufs: Buffer[] = [];
