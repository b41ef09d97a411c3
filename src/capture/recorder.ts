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

class RecordingU64File extends U64File {
  constructor(
    private readonly inner: U64File,
    pid: number | undefined,
    private readonly rec: WordRecord,
    private readonly onError: (e: RecordedError) => void,
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
    );
  }

  /**
   * A text file's bytes read here and recorded as they are (nothing when it
   * was already recorded; the error when the read failed with one that is
   * recorded). For small files (stat, cmdline...): a read here costs ~10 us
   * against ~40 us of CPU for the pool's open, read and close round trips.
   */
  recordTextSync(file: string, pid: number | undefined): void {
    if (this.files.has(file) || file in this.errors) return;
    let data: Uint8Array;
    try {
      data = readFileSyncRaw(file, pid);
    } catch (err) {
      const e = recordable(err);
      if (e === undefined) throw err;
      this.errors[file] = e;
      return;
    }
    this.files.set(file, data);
  }

  /** The same on a pool thread (smaps: large, several at once while the main thread does other work). */
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
      buf = withRoom(buf, len, file);
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

/** `buf` if it has room after its first `len` bytes, else a copy twice its size; a file over MAX_TEXT_BYTES is refused. */
function withRoom(buf: Buffer, len: number, file: string): Buffer {
  if (len < buf.length) return buf;
  if (len >= MAX_TEXT_BYTES) throw new ProcReadError(file, `larger than ${MAX_TEXT_BYTES} bytes`);
  const bigger = Buffer.allocUnsafe(buf.length * 2);
  buf.copy(bigger, 0, 0, len);
  return bigger;
}
const readBufs: Buffer[] = [];

/** readFileAsync on this thread (small /proc files: one read takes them whole). */
function readFileSyncRaw(file: string, pid: number | undefined): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (err) {
    throw mapOpenError(err, file, pid);
  }
  let buf = readBufs.pop() ?? Buffer.allocUnsafe(READ_BUF);
  try {
    let len = 0;
    for (;;) {
      buf = withRoom(buf, len, file);
      let got: number;
      try {
        got = fs.readSync(fd, buf, len, buf.length - len, null);
      } catch (err) {
        throw mapOpenError(err, file, pid);
      }
      if (got === 0) break;
      len += got;
    }
    return Uint8Array.prototype.slice.call(buf, 0, len);
  } finally {
    if (buf.length === READ_BUF) readBufs.push(buf);
    fs.closeSync(fd);
  }
}
