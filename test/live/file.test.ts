/**
 * Live: `pagelens file` against files whose page-cache state the test built.
 *
 * File A (1000 pages, the last one partial) is written, fsync'ed and dropped
 * from the cache (POSIX_FADV_DONTNEED); then, through a descriptor under
 * POSIX_FADV_RANDOM (no readahead), pages 0-99, 300-349 and the last page
 * are read once, and pages 500-509 are overwritten without fsync. So exactly
 * 161 pages are cached, pages 500-509 are dirty and the 151 read pages were
 * accessed once each (referenced, not active). A child process maps pages
 * 16-47 and faults them in, so exactly those 32 pages have one mapping. File
 * B is written and dropped (nothing cached); file D is sparse and never
 * touched. Every expected figure below comes from that construction; the
 * test checks the construction itself with cachestat before relying on it.
 *
 * Also checked: the walk leaves REFERENCED/ACTIVE as they were (three walks
 * in a row agree page by page), directories (symlink not followed, hard link
 * counted once, --top), the CLI's JSON and table, and the fallback as user
 * nobody (cached pages from mincore for a file nobody owns; nothing for a
 * file it cannot write, as the kernel hides it), and that faulting pages in
 * past a truncation reports them instead of dying of SIGBUS.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileView } from "../../src/views/file.js";
import { nativeAvailability } from "../../src/native/libc.js";
import { cachestat, FileMapping, PageToucher, posixFadvise, POSIX_FADV_DONTNEED, POSIX_FADV_RANDOM } from "../../src/native/page-cache.js";
import { ProcFs } from "../../src/procfs/procfs.js";
import type { FileEntry, FileReport } from "../../src/report/file-report.js";
import { REPO_ROOT, cliForNobody as cliForNobodyIn, onExit, runCli } from "../support/scenario.js";

const PAGE = 4096;
const TMPFS_MAGIC = 0x01021994;
const procfs = new ProcFs();

/** A directory on a disk filesystem (tmpfs ignores DONTNEED, so nothing could be evicted there). */
function diskDir(): string | undefined {
  for (const d of [os.tmpdir(), "/var/tmp"]) {
    try {
      if (Number(fs.statfsSync(d).type) !== TMPFS_MAGIC) return d;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

function skipReason(): string | undefined {
  if (process.platform !== "linux") return `needs Linux (this is ${process.platform})`;
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "needs root (kpageflags and PFNs are root-only)";
  if (!fs.existsSync("/proc/kpageflags")) return "no /proc/kpageflags (CONFIG_PROC_PAGE_MONITOR)";
  const n = nativeAvailability();
  if (!n.available) return n.reason;
  try {
    const fd = fs.openSync("/proc/self/status", "r");
    try {
      cachestat(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as { code?: string }).code === "ENOSYS") return "no cachestat(2) in this kernel (Linux 6.5+)";
  }
  if (diskDir() === undefined) return "no temp directory on a disk filesystem";
  return undefined;
}

const skip = skipReason();

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const READ = [...range(0, 100), ...range(300, 350), 999];
const WRITTEN = range(500, 510);
const MAPPED = range(16, 48);
const CACHED = [...READ, ...WRITTEN].sort((a, b) => a - b);
const A_SIZE = 1000 * PAGE - 100;

interface Built {
  readonly dir: string;
  readonly a: string;
  readonly b: string;
  readonly c: string;
  readonly d: string;
  readonly nobodys: string;
  readonly child: ChildProcess;
}

function writeAll(p: string, size: number): void {
  const fd = fs.openSync(p, "w", 0o644);
  try {
    let off = 0;
    const chunk = crypto.randomBytes(1 << 20);
    while (off < size) off += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - off), off);
    fs.fsyncSync(fd);
    // Clean pages go; a page still under writeback would stay, hence the fsync first.
    posixFadvise(fd, 0, 0, POSIX_FADV_DONTNEED, p);
  } finally {
    fs.closeSync(fd);
  }
}

function cachedPages(p: string): { cached: number; dirty: number; writeback: number } {
  const fd = fs.openSync(p, "r");
  try {
    return cachestat(fd, p);
  } finally {
    fs.closeSync(fd);
  }
}

/** A process that maps file pages [16, 48) of `file` and faults them in, until its stdin closes. */
async function startMapper(file: string): Promise<ChildProcess> {
  const native = path.join(REPO_ROOT, "dist", "src", "native", "page-cache.js");
  const script = `
    import * as fs from "node:fs";
    import { FileMapping, PageToucher } from ${JSON.stringify(native)};
    const fd = fs.openSync(${JSON.stringify(file)}, "r");
    const m = FileMapping.map(fd, ${MAPPED[0]! * PAGE}, ${MAPPED.length * PAGE}, "mapper");
    const failed = new PageToucher().touch(m, Array.from({ length: ${MAPPED.length} }, (_, i) => i), ${MAPPED.length}, ${PAGE});
    process.stdout.write("READY " + failed + "\\n");
    process.stdin.on("end", () => process.exit(0));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  onExit(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error("mapper: no READY within 20 s")), 20_000);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
      buf += d;
      if (buf.includes("\n")) {
        clearTimeout(timer);
        resolve(buf.trim());
      }
    });
    child.once("exit", (code) => reject(new Error(`mapper exited (${code}) before READY`)));
  });
  assert.equal(line, "READY 0", "the mapper could fault in all its pages");
  return child;
}

async function build(t: { after: (fn: () => void | Promise<void>) => void }): Promise<Built> {
  const dir = fs.mkdtempSync(path.join(diskDir()!, "pagelens-file-"));
  fs.chmodSync(dir, 0o755);
  onExit(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const a = path.join(dir, "a.bin");
  const b = path.join(dir, "b.bin");
  fs.mkdirSync(path.join(dir, "sub"));
  const c = path.join(dir, "sub", "c.bin");
  const d = path.join(dir, "d.sparse");
  writeAll(a, A_SIZE);
  writeAll(b, 64 * PAGE);
  // C and nobody's file: written and kept (4 pages, the last holding one byte), clean after fsync.
  const nobodys = path.join(dir, "nobodys.bin");
  for (const p of [c, nobodys]) {
    const fd = fs.openSync(p, "w", 0o644);
    fs.writeSync(fd, crypto.randomBytes(3 * PAGE + 1));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  fs.chownSync(nobodys, 65534, 65534);
  fs.linkSync(c, path.join(dir, "sub", "second-name"));
  fs.symlinkSync(a, path.join(dir, "a-symlink"));
  fs.writeFileSync(d, "");
  fs.truncateSync(d, 256 * PAGE);

  assert.equal(cachedPages(a).cached, 0, "file A left the cache after fsync + DONTNEED");
  assert.equal(cachedPages(b).cached, 0, "file B left the cache after fsync + DONTNEED");
  const fd = fs.openSync(a, "r+");
  try {
    posixFadvise(fd, 0, 0, POSIX_FADV_RANDOM, a);
    const buf = Buffer.alloc(100 * PAGE);
    fs.readSync(fd, buf, 0, 100 * PAGE, 0);
    fs.readSync(fd, buf, 0, 50 * PAGE, 300 * PAGE);
    fs.readSync(fd, buf, 0, A_SIZE - 999 * PAGE, 999 * PAGE);
    fs.writeSync(fd, crypto.randomBytes(WRITTEN.length * PAGE), 0, WRITTEN.length * PAGE, WRITTEN[0]! * PAGE);
  } finally {
    fs.closeSync(fd);
  }
  const st = cachedPages(a);
  assert.equal(st.cached, CACHED.length, "the construction itself: cachestat sees the 161 pages read or written");
  assert.equal(st.dirty + st.writeback, WRITTEN.length, "the 10 overwritten pages are dirty (or already under writeback)");
  const child = await startMapper(a);
  t.after(() => {
    child.stdin!.end();
    if (child.exitCode === null) child.kill("SIGTERM");
  });
  return { dir, a, b, c, d, nobodys, child };
}

/** Page numbers covered by a file's ranges, with a per-page value. */
function perPage<T>(e: FileEntry, value: (r: NonNullable<FileEntry["ranges"]>[number]) => T): Map<number, T> {
  const out = new Map<number, T>();
  for (const r of e.ranges ?? []) for (let k = 0; k < r.pages; k++) out.set(r.page + k, value(r));
  return out;
}

function pagesWhere<T>(m: Map<number, T>, pred: (v: T) => boolean): number[] {
  return [...m.entries()].filter(([, v]) => pred(v)).map(([k]) => k).sort((x, y) => x - y);
}

function only(r: FileReport, p: string): FileEntry {
  const e = r.files.find((f) => f.path === p);
  assert.ok(e, `${p} is in the report (${r.files.map((f) => f.path).join(", ")})`);
  return e;
}

test("file: exactly the pages read or written are cached, with their dirty bits, map counts and mapper", { skip }, async (t) => {
  const s = await build(t);
  // Small windows, so the file spans several mappings and several lookup batches.
  const r = fileView({ procfs }, [s.a], { list: "ranges", windowPages: 128 });
  assert.equal(r.detail, "pagemap");
  const a = only(r, s.a);
  assert.equal(a.source, "pagemap");
  assert.equal(a.size, A_SIZE);
  assert.equal(a.pages, 1000);
  assert.equal(a.cachedPages, CACHED.length);
  assert.equal(a.cached, CACHED.length * PAGE);
  assert.equal(a.note, null);
  const pfn = perPage(a, (x) => x.pfn);
  assert.deepEqual([...pfn.keys()].sort((x, y) => x - y), CACHED, "cached page numbers");
  assert.deepEqual(pagesWhere(pfn, (v) => v === null || v === 0), [], "every cached page has its PFN");
  const names = perPage(a, (x) => x.flagNames);
  assert.deepEqual(pagesWhere(names, (v) => !v.includes("uptodate")), [], "every cached page is uptodate");
  assert.deepEqual(pagesWhere(names, (v) => v.includes("dirty") || v.includes("writeback")), WRITTEN, "dirty (or writeback) pages are the overwritten ones");
  assert.equal((a.flags!["dirty"] ?? 0) + (a.flags!["writeback"] ?? 0), WRITTEN.length * PAGE);
  assert.equal(a.cachestat!.cached, CACHED.length * PAGE);
  assert.equal(a.cachestat!.dirty + a.cachestat!.writeback, WRITTEN.length * PAGE);
  // Read once: referenced, not (yet) active.
  const readPages = new Set(READ);
  assert.deepEqual(pagesWhere(names, (v) => v.includes("active")).filter((p) => readPages.has(p)), [], "no page read once is active");
  assert.deepEqual(READ.filter((p) => !names.get(p)!.includes("referenced")), [], "every page read once is referenced");
  // Map counts: the mapper's 32 pages once, no other page; our own mapping is not counted.
  const mapcount = perPage(a, (x) => x.mapcount);
  assert.deepEqual(pagesWhere(mapcount, (v) => v === 1), MAPPED);
  assert.deepEqual(pagesWhere(mapcount, (v) => v !== 0 && v !== 1), []);
  assert.deepEqual(pagesWhere(names, (v) => v.includes("mmap")), MAPPED, "the mmap flag only where another process maps the page");
  assert.equal(a.mapped, MAPPED.length * PAGE);
  const mapper = a.processes!.find((p) => p.pid === s.child.pid);
  assert.ok(mapper, `the mapper ${s.child.pid} is listed: ${JSON.stringify(a.processes)}`);
  assert.deepEqual({ mappings: mapper.mappings, mappedBytes: mapper.mappedBytes, resident: mapper.resident }, { mappings: 1, mappedBytes: MAPPED.length * PAGE, resident: MAPPED.length * PAGE });
  assert.ok(!a.processes!.some((p) => p.pid === process.pid), "pagelens itself is not a mapper");
});

test("file: reading the page cache leaves REFERENCED and ACTIVE as they were", { skip }, async (t) => {
  const s = await build(t);
  const walk = (): Map<number, string> => {
    const e = only(fileView({ procfs }, [s.a], { list: "each", processes: false }), s.a);
    return perPage(e, (x) => `${x.flagNames.includes("referenced") ? "R" : "_"}${x.flagNames.includes("active") ? "A" : "_"}`);
  };
  const first = walk();
  assert.equal(first.size, CACHED.length);
  const second = walk();
  const third = walk();
  // MADV_POPULATE_READ or any get_user_pages() fault would activate referenced pages on the second walk.
  assert.deepEqual([...second.entries()], [...first.entries()], "second walk: same R/A bits per page");
  assert.deepEqual([...third.entries()], [...first.entries()], "third walk: same R/A bits per page");
});

test("file: evicted and never-read files have nothing cached; directories, hard links, symlinks, --top", { skip }, async (t) => {
  const s = await build(t);
  const r = fileView({ procfs }, [s.dir], {});
  const paths = r.files.map((f) => path.relative(s.dir, f.path));
  // Sorted walk; the symlink to A is not followed, the second name of C is not counted again.
  assert.deepEqual(paths, ["a.bin", "b.bin", "d.sparse", "nobodys.bin", "sub/c.bin"]);
  const b = only(r, s.b);
  assert.equal(b.cached, 0);
  assert.equal(b.cachestat!.cached, 0);
  const d = only(r, s.d);
  assert.equal(d.pages, 256);
  assert.equal(d.cached, 0);
  const c = only(r, s.c);
  assert.equal(c.cachedPages, 4);
  assert.equal(c.dirty, 0);
  assert.equal(r.totals.files, 5);
  assert.equal(r.totals.cached, (CACHED.length + 4 + 4) * PAGE);
  assert.equal(r.totals.dirty + r.totals.writeback, WRITTEN.length * PAGE);
  assert.ok(r.notes.some((n) => /1 symbolic link not followed/.test(n) && /1 further hard link to/.test(n)), r.notes.join("\n"));

  const top = fileView({ procfs }, [s.dir], { top: 2, processes: false });
  assert.deepEqual(top.files.map((f) => path.relative(s.dir, f.path)), ["a.bin", "nobodys.bin"]);
  assert.equal(top.totals.cached, r.totals.cached);

  const totals = fileView({ procfs }, [s.a], { totalsOnly: true, processes: false });
  const ta = only(totals, s.a);
  assert.equal(totals.detail, "cachestat");
  assert.equal(ta.source, "cachestat");
  assert.equal(ta.cached, CACHED.length * PAGE);
  assert.equal(ta.flags, null);
});

test("file: the CLI prints JSON in bytes and a table naming the mapper", { skip }, async (t) => {
  const s = await build(t);
  const j = runCli(["file", s.a, "--json"]);
  assert.equal(j.code, 0, j.stderr);
  const doc = JSON.parse(j.stdout) as FileReport;
  const a = only(doc, s.a);
  assert.equal(a.cached, CACHED.length * PAGE);
  assert.equal(a.mapped, MAPPED.length * PAGE);
  assert.equal(doc.totals.cached, CACHED.length * PAGE);

  const tab = runCli(["file", s.a, "--units", "bytes"]);
  assert.equal(tab.code, 0, tab.stderr);
  assert.match(tab.stdout, new RegExp(`^ *SIZE +CACHED +% +DIRTY +WRITEBACK +EVICTED +ACTIVE +REFERENCED +MAPPED +PROCS +FILE\\n *${A_SIZE} +${CACHED.length * PAGE} +16\\.1% `));
  assert.match(tab.stdout, new RegExp(`mapped by\\n.*\\n *${s.child.pid} +root +1 +${MAPPED.length * PAGE} +${MAPPED.length * PAGE} `));
  assert.match(tab.stdout, /cached pages by flags/);

  const list = runCli(["file", s.a, "--list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /foffset\tmap-cnt\tcgroup\toffset\tlen\tflags\n0\t0\t/);

  const bad = runCli(["file", path.join(s.dir, "missing")]);
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /ENOENT/);
  const usage = runCli(["file", s.a, "--list", "--each"]);
  assert.equal(usage.code, 2);
});

/** The CLI entry point as nobody can reach it, or undefined where setpriv cannot switch to nobody. */
function cliForNobody(): string | undefined {
  const can = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "true"]);
  if (can.error || can.status !== 0) return undefined;
  return cliForNobodyIn(["node_modules/koffi/package.json"], "pagelens-file-nonroot-");
}

test("file: as nobody, cached pages of its own file from mincore, other files hidden, and why", { skip }, async (t) => {
  const main = cliForNobody();
  if (main === undefined) return t.skip("setpriv cannot switch to uid 65534");
  const s = await build(t);
  const r = runCli(["file", s.nobodys, s.a, "--json", "--list"], { asUid: 65534, main });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as FileReport;
  assert.equal(doc.detail, "mincore");
  assert.ok(doc.notes.some((n) => /need root/.test(n)), doc.notes.join("\n"));
  const own = only(doc, s.nobodys);
  assert.equal(own.source, "mincore");
  assert.equal(own.cachedPages, 4);
  assert.equal(own.flags, null);
  assert.deepEqual(
    (own.ranges ?? []).map((x) => [x.page, x.pages, x.pfn]),
    [[0, 4, null]],
  );
  // Root's file, not writable by nobody: mincore would claim all 1000 pages, so it is not asked. Kernels
  // since early 2025 refuse cachestat too (EPERM); older ones still give the true count.
  const hidden = only(doc, s.a);
  assert.match(hidden.note ?? "", /hides the page-cache state/);
  if (hidden.cached !== null) assert.equal(hidden.cached, CACHED.length * PAGE, "only cachestat's true count, never mincore's all-resident answer");
  else assert.match(hidden.note ?? "", /cachestat failed \(EPERM\)/);
});

test("file: pages past a truncation are reported as not faulted, without SIGBUS", { skip }, (t) => {
  const dir = fs.mkdtempSync(path.join(diskDir()!, "pagelens-trunc-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = path.join(dir, "shrinks.bin");
  fs.writeFileSync(p, crypto.randomBytes(16 * PAGE));
  const fd = fs.openSync(p, "r");
  const m = FileMapping.map(fd, 0, 16 * PAGE, p);
  const toucher = new PageToucher();
  try {
    fs.truncateSync(p, 4 * PAGE);
    // A read through the mapping of pages 4-15 would now raise SIGBUS; the kernel copy gets EFAULT.
    assert.equal(toucher.touch(m, range(0, 16), 16, PAGE), 12);
  } finally {
    toucher.close();
    m.unmap();
    fs.closeSync(fd);
  }
});
