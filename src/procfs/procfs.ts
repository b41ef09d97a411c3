/**
 * The one place that turns names into paths under a procfs root (default
 * `/proc`) and a sysfs root (default `/sys`), and the only module that opens
 * files. Everything else asks this module for text or for 64-bit words, so the
 * same code runs on the live machine, on a fixture tree and on a snapshot.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { errnoOf, PagelensError, ParseError, PermissionError, ProcessGoneError, ProcReadError } from "../errors.js";

/** Text files are small, but a process with 60 000 VMAs has a multi-megabyte maps file. */
const MAX_TEXT_BYTES = 256 * 1024 * 1024;

export interface ProcFsOptions {
  /** procfs root. Defaults to `/proc`. */
  readonly root?: string;
  /**
   * sysfs root, for the few facts /proc lacks (KSM state, THP mode, cgroup
   * mounts). Defaults to `/sys` when `root` is `/proc`, otherwise absent, so a
   * fixture tree never reads the live machine's sysfs by accident.
   */
  readonly sysRoot?: string | null;
  /**
   * Where the bytes come from instead of the directory tree: a capture file
   * (`--from`), or a recorder that keeps what is read (`pagelens capture`).
   * Paths are still built from `root` and `sysRoot`, so reports and errors
   * name the files the capture was taken from. See procfs/backend.ts.
   */
  readonly backend?: ProcBackend;
}

/**
 * A source of procfs/sysfs bytes other than the directory tree. Each method
 * takes the full path ProcFs built and behaves as the directory code below
 * does (same return values, same typed errors), so every reader runs
 * unchanged on it.
 */
export interface ProcBackend {
  /** Does this backend read the running kernel (the recorder does; a capture does not)? */
  readonly live: boolean;
  /** When the bytes were read, if not now (a capture's time, ISO 8601). */
  readonly capturedAt?: string;
  checkRoot(root: string): void;
  listPids(root: string): number[];
  readText(file: string, pid: number | undefined): string;
  /** undefined when the file does not exist. */
  readOptionalText(file: string): string | undefined;
  /** A whole binary file (config.gz); undefined when it does not exist. */
  readOptionalBytes(file: string): Uint8Array | undefined;
  readSysDir(dir: string): { ino: number; subdirs: string[] } | undefined;
  exists(file: string): boolean;
  openU64(file: string, pid: number | undefined): U64File;
  ownerOf(dir: string): number | undefined;
}

/** An open PFN- or page-indexed binary file (pagemap, kpagecount, ...). */
export class U64File {
  constructor(
    readonly file: string,
    private readonly fd: number,
    private readonly pid: number | undefined,
    /**
     * Every word asked for must be there: a process's pagemap in a tree
     * (fixture or capture). The kernel's pagemap covers the whole address
     * space and is only read over mappings, so a short read there means the
     * process exited (handled by the callers); in a tree the same short read
     * means the file was cut short, which is bad input, not a vanished process.
     */
    private readonly strict = false,
  ) {}

  private truncated(index: number, done: number, count: number): ParseError {
    const at = index + Math.floor(done / 8);
    return new ParseError(this.file, undefined, `truncated: the file ends at word ${at} (byte ${index * 8 + done}), but words up to ${index + count} are mapped`);
  }

  /**
   * Read `count` 64-bit words starting at word `index` into `into` from byte `at` (default 0).
   * Offsets and lengths are multiples of 8, as the kernel demands. Returns the
   * number of whole words read: fewer than asked at the end of the file (the
   * end of the address space for pagemap, the last PFN for kpage files).
   */
  readWords(index: number, count: number, into: Uint8Array, at = 0): number {
    let done = 0;
    const want = count * 8;
    while (done < want) {
      let n: number;
      try {
        n = fs.readSync(this.fd, into, at + done, want - done, index * 8 + done);
      } catch (err) {
        const code = errnoOf(err);
        if (code === "ESRCH" && this.pid !== undefined) throw new ProcessGoneError(this.pid, this.file, code);
        if (code === "EINTR" || code === "EAGAIN") continue;
        throw new ProcReadError(this.file, `${code ?? "error"} at word ${index + done / 8}`, { cause: err });
      }
      if (n === 0) break;
      done += n;
    }
    if (this.strict && done < want) throw this.truncated(index, done, count);
    return Math.floor(done / 8);
  }

  /**
   * readWords on a libuv pool thread, into `into` from byte `at`: the kernel
   * work of several such reads runs on several cores at once while the main
   * thread decodes what came back before (see scan/pagemap-pass.ts).
   */
  readWordsAsync(index: number, count: number, into: Uint8Array, at = 0): Promise<number> {
    const want = count * 8;
    return new Promise((resolve, reject) => {
      let done = 0;
      const step = (): void => {
        fs.read(this.fd, into, at + done, want - done, index * 8 + done, (err, n) => {
          if (err) {
            const code = errnoOf(err);
            if (code === "EINTR" || code === "EAGAIN") return step();
            if (code === "ESRCH" && this.pid !== undefined) return reject(new ProcessGoneError(this.pid, this.file, code));
            return reject(new ProcReadError(this.file, `${code ?? "error"} at word ${index + done / 8}`, { cause: err }));
          }
          done += n;
          if (this.strict && n === 0 && done < want) reject(this.truncated(index, done, count));
          else if (n === 0 || done >= want) resolve(Math.floor(done / 8));
          else step();
        });
      };
      step();
    });
  }

  /**
   * Write `count` 64-bit words from `from` (at byte 0) at word `index`: the
   * idle page bitmap, which takes aligned whole words. Returns the words written.
   */
  writeWords(index: number, count: number, from: Uint8Array): number {
    let done = 0;
    const want = count * 8;
    while (done < want) {
      let n: number;
      try {
        n = fs.writeSync(this.fd, from, done, want - done, index * 8 + done);
      } catch (err) {
        const code = errnoOf(err);
        if (code === "EINTR" || code === "EAGAIN") continue;
        throw new ProcReadError(this.file, `${code ?? "error"} writing word ${index + done / 8}`, { cause: err });
      }
      if (n === 0) break;
      done += n;
    }
    return Math.floor(done / 8);
  }

  /** The open file descriptor, for an ioctl on it (PAGEMAP_SCAN: src/native/pagemap-scan.ts). */
  get descriptor(): number {
    return this.fd;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** The file's size in bytes as stat reports it (0 for files under /proc), undefined if unknown. */
  size(): number | undefined {
    try {
      return fs.fstatSync(this.fd).size;
    } catch {
      return undefined;
    }
  }
}

export class ProcFs {
  readonly root: string;
  readonly sysRoot: string | undefined;
  readonly backend: ProcBackend | undefined;

  /**
   * The root when `path.join(root, pid, name)` is just `root/pid/name` (an
   * absolute, normalized root other than "/"), so pidPath can concatenate:
   * path.join normalizes its whole result, and discovery builds ~6 paths for
   * each of 1000s of processes (docs/performance.md, section 7).
   */
  private readonly plainRoot: string | undefined;

  constructor(options: ProcFsOptions = {}) {
    this.backend = options.backend;
    this.root = options.root ?? "/proc";
    const sys = options.sysRoot === undefined ? (this.root === "/proc" ? "/sys" : undefined) : options.sysRoot;
    this.sysRoot = sys ?? undefined;
    this.plainRoot = this.root !== "/" && path.isAbsolute(this.root) && path.normalize(this.root) === this.root && !this.root.endsWith("/") ? this.root : undefined;
  }

  /** When the bytes were read, for a capture; undefined means now. */
  get capturedAt(): string | undefined {
    return this.backend?.capturedAt;
  }

  /** Is this the kernel's own procfs (rather than a fixture or snapshot tree)? */
  get isLive(): boolean {
    return (this.backend === undefined || this.backend.live) && path.resolve(this.root) === "/proc";
  }

  path(...parts: (string | number)[]): string {
    return path.join(this.root, ...parts.map(String));
  }

  /** `path(pid, name)` for a file name without "/" (status, maps, ...), without path.join's normalizing where the root needs none. */
  pidPath(pid: number, name: string): string {
    return this.plainRoot !== undefined && Number.isSafeInteger(pid) && pid >= 0 ? `${this.plainRoot}/${pid}/${name}` : this.path(pid, name);
  }

  sysPath(...parts: string[]): string | undefined {
    return this.sysRoot === undefined ? undefined : path.join(this.sysRoot, ...parts);
  }

  /**
   * Fail early, naming the directory, when the procfs root is not a readable
   * directory, or (for a tree other than /proc) holds nothing a procfs has:
   * an empty or wrong directory would otherwise read as a machine with no
   * processes and a kernel without kpagecount.
   */
  checkRoot(): void {
    if (this.backend) return this.backend.checkRoot(this.root);
    let ok = false;
    try {
      ok = fs.statSync(this.root).isDirectory();
    } catch (err) {
      const code = errnoOf(err);
      throw new ProcReadError(this.root, `procfs root: ${code === "ENOENT" ? "no such directory" : (code ?? String(err))}`, { cause: err });
    }
    if (!ok) throw new ProcReadError(this.root, "procfs root: not a directory", { code: "ENOTDIR" });
    if (this.isLive) return;
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (err) {
      throw new ProcReadError(this.root, `procfs root: cannot list directory (${errnoOf(err) ?? String(err)})`, { cause: err });
    }
    const marks = new Set(["meminfo", "kpageflags", "kpagecount", "self", "sys"]);
    if (!names.some((n) => /^[1-9][0-9]*$/.test(n) || marks.has(n)))
      throw new ProcReadError(
        this.root,
        `not a procfs tree: it has no process directories and none of meminfo, kpagecount, kpageflags, self or sys${names.length === 0 ? " (the directory is empty)" : ""}`,
      );
  }

  /** Numeric directories under the root, ascending. */
  listPids(): number[] {
    if (this.backend) return this.backend.listPids(this.root);
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (err) {
      throw new ProcReadError(this.root, `cannot list directory (${errnoOf(err) ?? String(err)})`, { cause: err });
    }
    const pids: number[] = [];
    for (const name of names) if (/^[1-9][0-9]*$/.test(name)) pids.push(Number(name));
    return pids.sort((a, b) => a - b);
  }

  /** Read a whole text file under the procfs root. `pid` makes ENOENT/ESRCH mean "process gone". */
  readText(rel: string, pid?: number): string {
    if (this.backend) return this.backend.readText(this.path(rel), pid);
    return readTextFile(this.path(rel), pid);
  }

  /** readText(`${pid}/${name}`, pid): a process's file, for a name without "/". */
  readPidText(pid: number, name: string): string {
    const file = this.pidPath(pid, name);
    if (this.backend) return this.backend.readText(file, pid);
    return this.plainRoot === "/proc" ? readKernelText(file, pid) : readTextFile(file, pid);
  }

  /** Like readText, but undefined when the file does not exist (optional kernel features). */
  readOptionalText(rel: string): string | undefined {
    if (this.backend) return this.backend.readOptionalText(this.path(rel));
    return readOptional(this.path(rel));
  }

  /** readOptionalText(`${pid}/${name}`), for a name without "/". */
  readOptionalPidText(pid: number, name: string): string | undefined {
    const file = this.pidPath(pid, name);
    if (this.backend) return this.backend.readOptionalText(file);
    return readOptional(file, this.plainRoot === "/proc" ? readKernelText : readTextFile);
  }

  /** A whole binary file under the procfs root (config.gz), or undefined when it does not exist. */
  readOptionalBytes(rel: string): Uint8Array | undefined {
    const file = this.path(rel);
    if (this.backend) return this.backend.readOptionalBytes(file);
    try {
      return fs.readFileSync(file);
    } catch (err) {
      if (errnoOf(err) === "ENOENT" || errnoOf(err) === "ENOTDIR") return undefined;
      throw mapOpenError(err, file, undefined);
    }
  }

  /** Does this file exist under the sysfs root? */
  sysExists(rel: string): boolean {
    const p = this.sysPath(rel);
    if (p === undefined) return false;
    return this.backend ? this.backend.exists(p) : fs.existsSync(p);
  }

  readSysText(rel: string): string | undefined {
    const p = this.sysPath(rel);
    if (p === undefined) return undefined;
    return this.backend ? this.backend.readOptionalText(p) : readOptional(p);
  }

  /**
   * A directory under the sysfs root: its inode number and the names of its
   * subdirectories. For cgroup trees, where /proc/kpagecgroup names a memory
   * cgroup by its directory's inode. Undefined when it does not exist.
   */
  readSysDir(rel: string): { ino: number; subdirs: string[] } | undefined {
    const p = this.sysPath(rel);
    if (p === undefined) return undefined;
    if (this.backend) return this.backend.readSysDir(p);
    try {
      const ino = Number(fs.statSync(p, { bigint: true }).ino);
      const subdirs = fs
        .readdirSync(p, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
      return { ino, subdirs };
    } catch (err) {
      const code = errnoOf(err);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw new ProcReadError(p, code ?? String(err), { cause: err });
    }
  }

  /**
   * Open a 64-bit-word file (pagemap, kpagecount, kpageflags, kpagecgroup).
   * With `pid` (a process's pagemap) in a tree, a short read is a truncated file (see U64File).
   */
  openU64(rel: string, pid?: number): U64File {
    const file = this.path(rel);
    if (this.backend) return this.backend.openU64(file, pid);
    try {
      return new U64File(file, fs.openSync(file, "r"), pid, pid !== undefined && !this.isLive);
    } catch (err) {
      throw mapOpenError(err, file, pid);
    }
  }

  /**
   * Write a short control string to a file under the procfs root: the only
   * writes pagelens makes to /proc, `clear_refs` for working-set measurement,
   * and only when the user asked for it. `pid` makes ENOENT/ESRCH mean
   * "process gone".
   */
  writeControl(rel: string, text: string, pid?: number): void {
    const file = this.path(rel);
    if (this.backend && !this.backend.live) throw new ProcReadError(file, "a capture cannot be written to");
    let fd: number;
    try {
      fd = fs.openSync(file, "w");
    } catch (err) {
      throw mapOpenError(err, file, pid);
    }
    try {
      fs.writeSync(fd, text);
    } catch (err) {
      throw mapOpenError(err, file, pid);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Open a sysfs file of 64-bit words for reading and writing (the idle page
   * bitmap, /sys/kernel/mm/page_idle/bitmap). Undefined when there is no
   * sysfs root or no such file.
   */
  openSysU64ReadWrite(rel: string): U64File | undefined {
    const file = this.sysPath(rel);
    if (file === undefined) return undefined;
    if (this.backend && !this.backend.live) throw new ProcReadError(file, "a capture cannot be written to");
    try {
      return new U64File(file, fs.openSync(file, "r+"), undefined);
    } catch (err) {
      if (errnoOf(err) === "ENOENT") return undefined;
      throw mapOpenError(err, file, undefined);
    }
  }

  /** The real user id owning a process directory (the fallback when status is unreadable). */
  ownerOf(pid: number): number | undefined {
    if (this.backend) return this.backend.ownerOf(this.path(pid));
    try {
      return fs.statSync(this.path(pid)).uid;
    } catch {
      return undefined;
    }
  }
}

/** `read(file)`, or undefined when the file does not exist (ENOENT, or a path through a non-directory). */
function readOptional(file: string, read: (file: string, pid: undefined) => string = readTextFile): string | undefined {
  try {
    return read(file, undefined);
  } catch (err) {
    if (err instanceof ProcReadError && (err.code === "ENOENT" || err.code === "ENOTDIR")) return undefined;
    throw err;
  }
}

/**
 * One reusable read buffer: /proc text files report size 0, so stat-then-read
 * would not help anyway. It doubles while a file does not fit; one that grew
 * beyond TEXT_BUF_KEEP (the smaps of a process with thousands of mappings) is
 * dropped after that read, so a long-running process (serve, top) does not
 * keep the largest file it ever read. Reading such a file again costs a few
 * doublings, small beside the kernel's work of writing that much text.
 */
const TEXT_BUF_START = 64 * 1024;
export const TEXT_BUF_KEEP = 1024 * 1024;
let textBuf = Buffer.allocUnsafe(TEXT_BUF_START);

/** Bytes the text read buffer holds between reads (for tests of the bound). */
export function textBufferBytes(): number {
  return textBuf.length;
}

function readTextFile(file: string, pid: number | undefined): string {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (err) {
    throw mapOpenError(err, file, pid);
  }
  try {
    let len = 0;
    for (;;) {
      if (len === textBuf.length) {
        if (len >= MAX_TEXT_BYTES) throw new ProcReadError(file, `larger than ${MAX_TEXT_BYTES} bytes`);
        const bigger = Buffer.allocUnsafe(textBuf.length * 2);
        textBuf.copy(bigger, 0, 0, len);
        textBuf = bigger;
      }
      const n = fs.readSync(fd, textBuf, len, textBuf.length - len, null);
      if (n === 0) break;
      len += n;
    }
    return textBuf.toString("utf8", 0, len);
  } catch (err) {
    if (err instanceof ProcReadError) throw err;
    throw mapOpenError(err, file, pid);
  } finally {
    fs.closeSync(fd);
    if (textBuf.length > TEXT_BUF_KEEP) textBuf = Buffer.allocUnsafe(TEXT_BUF_START);
  }
}

/**
 * A file the running kernel writes (under the live /proc): readFileSync,
 * whose UTF-8 path (Node 20.10+, src/node_file.cc ReadFileUtf8) opens,
 * reads and closes in one call into C++ and makes the string there, where
 * readTextFile makes four calls through fs's JavaScript wrappers and then
 * decodes: 10-15 ms less CPU over the ~5000 files discovery reads on a
 * 1000-process machine (docs/performance.md, section 7). Same system calls
 * (open, read until 0, close). Only for the kernel's files, whose size the
 * kernel bounds: a tree's file may be anything (a link to /dev/zero), and
 * readTextFile's size limit stays in front of those.
 */
function readKernelText(file: string, pid: number | undefined): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw mapOpenError(err, file, pid);
  }
}

/** A system error (its `code`) on `file` as the typed error readers expect; exported for the backends. */
export function mapOpenError(err: unknown, file: string, pid: number | undefined): Error {
  if (err instanceof PagelensError) return err;
  const code = errnoOf(err);
  if (pid !== undefined && (code === "ENOENT" || code === "ESRCH")) return new ProcessGoneError(pid, file, code);
  if (code === "EACCES" || code === "EPERM") return new PermissionError(file, permissionHint(file), code);
  return new ProcReadError(file, code === "ENOENT" ? "ENOENT (no such file)" : (code ?? String(err)), { cause: err });
}

/** Is this process root (uid 0), who reads every process that does not refuse ptrace even to root? */
export function runningAsRoot(): boolean {
  return process.geteuid?.() === 0;
}

/**
 * Why the kernel says no, in the user's terms. A process's maps, smaps,
 * smaps_rollup and pagemap need ptrace read access (PTRACE_MODE_READ,
 * fs/proc/base.c proc_mem_open): the same user, or CAP_SYS_PTRACE. Root is
 * refused only by processes that made themselves undumpable or that a
 * security module guards.
 */
function permissionHint(file: string): string {
  if (/kpage(count|flags|cgroup)$/.test(file)) return "these files are readable by root only (mode 0400)";
  if (/\/(pagemap|smaps|smaps_rollup|maps)$/.test(file))
    return runningAsRoot()
      ? "the process refuses ptrace read access even to root: it is not dumpable, or a security module denies it"
      : "reading another user's process needs ptrace read access: run as that user or as root";
  if (/\/clear_refs$/.test(file)) return "only the process's owner, or root, may reset its page bits";
  if (/page_idle\/bitmap$/.test(file)) return "the idle page bitmap is root only (mode 0600)";
  return "insufficient privilege";
}

/**
 * The directory tree as a backend: exactly what ProcFs does without one, for
 * a backend that wraps the live machine (the recorder of `pagelens capture`).
 * Paths given to it are absolute, so a ProcFs rooted at "/" resolves them as they are.
 */
export function directoryBackend(): ProcBackend {
  const plain = new ProcFs({ root: "/", sysRoot: "/" });
  return {
    live: true,
    checkRoot: (root) => new ProcFs({ root, sysRoot: null }).checkRoot(),
    listPids: (root) => new ProcFs({ root, sysRoot: null }).listPids(),
    readText: (file, pid) => readTextFile(file, pid),
    readOptionalText: (file) => readOptional(file),
    readOptionalBytes: (file) => plain.readOptionalBytes(file),
    readSysDir: (dir) => plain.readSysDir(dir),
    exists: (file) => fs.existsSync(file),
    openU64: (file, pid) => plain.openU64(file, pid),
    ownerOf: (dir) => {
      try {
        return fs.statSync(dir).uid;
      } catch {
        return undefined;
      }
    },
  };
}
