/**
 * `pagelens file`'s report, fed made-up page walks: which source each figure
 * comes from, how cached pages fold into page-types -l ranges, flag
 * combinations, --top, and the JSON and table writers. Also the dev_t split
 * that matches stat() against /proc/PID/maps and the directory walk rules.
 * Expected values are written out by hand from the inputs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileReportBuilder, type FileReport } from "../../src/report/file-report.js";
import { writeFileJson, writeFileTable } from "../../src/render/file-render.js";
import type { FileProbe, ResidentPages } from "../../src/scan/file-pages.js";
import { splitDev, walkFiles, type FileTarget } from "../../src/scan/file-walk.js";

const PS = 4096;
const UPTODATE = 1 << 3;
const DIRTY = 1 << 4;
const LRU = 1 << 5;
const ACTIVE = 1 << 6;
const REFERENCED = 1 << 2;
const WRITEBACK = 1 << 8;
const MMAP = 1 << 11;

function target(p: string, size: number, inode = 1): FileTarget {
  return { path: p, size, major: 0xfe, minor: 0, inode, uid: 0 };
}

function probe(file: number, over: Partial<FileProbe> = {}): FileProbe {
  return { file, size: 0, cachestat: undefined, cachestatError: undefined, walked: "pagemap", why: undefined, resident: 0, unresolved: 0, ...over };
}

/** Resident pages with flags: one entry per page [index, pfn, lo, mapcount]. */
function pagemapPages(file: number, pages: readonly [number, number, number, number][], cgroup?: number): ResidentPages {
  return {
    file,
    count: pages.length,
    index: Float64Array.from(pages.map((p) => p[0])),
    pfn: Float64Array.from(pages.map((p) => p[1])),
    flagsLo: Uint32Array.from(pages.map((p) => p[2])),
    flagsHi: new Uint32Array(pages.length),
    mapcount: Uint32Array.from(pages.map((p) => p[3])),
    cgroup: cgroup === undefined ? undefined : new Float64Array(pages.length).fill(cgroup),
  };
}

function build(b: FileReportBuilder, top?: number): FileReport {
  return b.build({ takenAt: "2026-01-01T00:00:00.000Z", detail: "pagemap", top, skipped: [], notes: [] });
}

test("pagemap detail: cached from the walk, dirty/writeback/evicted from cachestat, flags and mapped from kpage files", () => {
  const b = new FileReportBuilder([target("/f", 10 * PS - 100)], { pageSize: PS, list: "ranges" });
  const U = UPTODATE | LRU;
  b.pages(
    pagemapPages(0, [
      [0, 100, U | REFERENCED, 0],
      [1, 101, U | REFERENCED, 0],
      [2, 102, U | REFERENCED, 1], // mapped by someone: a new range
      [3, 103, U | REFERENCED, 1],
      [5, 104, U | DIRTY, 0], // a gap in the file
      [6, 200, U | DIRTY, 0], // PFN jump
      [7, 201, U | ACTIVE, 0], // flags change
      [9, 0, 0, 0], // could not be looked up
    ]),
  );
  b.done(probe(0, { size: 10 * PS - 100, resident: 8, unresolved: 1, cachestat: { cached: 8, dirty: 3, writeback: 1, evicted: 4, recentlyEvicted: 2 } }));
  const r = build(b);
  const f = r.files[0]!;
  assert.equal(f.pages, 10);
  assert.equal(f.source, "pagemap");
  assert.equal(f.cachedPages, 8);
  assert.equal(f.cached, 8 * PS);
  // cachestat wins for dirty and writeback (the kernel's own counters), even where kpageflags says 2 dirty.
  assert.equal(f.dirty, 3 * PS);
  assert.equal(f.writeback, 1 * PS);
  assert.equal(f.evicted, 4 * PS);
  assert.equal(f.recentlyEvicted, 2 * PS);
  assert.equal(f.mapped, 2 * PS);
  assert.deepEqual(f.flags, { referenced: 4 * PS, uptodate: 7 * PS, lru: 7 * PS, dirty: 2 * PS, active: 1 * PS });
  assert.deepEqual(
    f.combinations!.map((c) => [c.names.join(","), c.pages]),
    [
      ["referenced,uptodate,lru", 4],
      ["uptodate,dirty,lru", 2],
      ["uptodate,lru,active", 1],
    ],
  );
  assert.deepEqual(
    f.ranges!.map((x) => [x.page, x.pages, x.pfn, x.mapcount, x.flagNames.join(",")]),
    [
      [0, 2, 100, 0, "referenced,uptodate,lru"],
      [2, 2, 102, 1, "referenced,uptodate,lru"],
      [5, 1, 104, 0, "uptodate,dirty,lru"],
      [6, 1, 200, 0, "uptodate,dirty,lru"],
      [7, 1, 201, 0, "uptodate,lru,active"],
      [9, 1, null, null, ""],
    ],
  );
  assert.equal(f.ranges![2]!.offset, 5 * PS);
  assert.equal(f.ranges![2]!.bytes, PS);
  assert.match(f.note ?? "", /1 cached pages could not be looked up/);
  assert.equal(r.totals.cached, 8 * PS);
  assert.equal(r.totals.mapped, 2 * PS);
  assert.deepEqual(r.totals.flags, f.flags);
});

test("without cachestat, dirty and writeback come from kpageflags; --each lists every page", () => {
  const b = new FileReportBuilder([target("/g", 4 * PS)], { pageSize: PS, list: "each" });
  b.pages(pagemapPages(0, [[0, 10, UPTODATE | DIRTY, 0], [1, 11, UPTODATE | DIRTY, 0], [2, 12, UPTODATE | WRITEBACK, 0]], 77));
  b.done(probe(0, { size: 4 * PS, resident: 3, cachestatError: "ENOSYS" }));
  const f = build(b).files[0]!;
  assert.equal(f.dirty, 2 * PS);
  assert.equal(f.writeback, 1 * PS);
  assert.equal(f.evicted, null);
  assert.equal(f.cachestat, null);
  // ENOSYS is the command's to say once, not a per-file note.
  assert.equal(f.note, null);
  assert.deepEqual(f.ranges!.map((x) => [x.page, x.pages, x.pfn, x.cgroup]), [[0, 1, 10, 77], [1, 1, 11, 77], [2, 1, 12, 77]]);
});

test("the mmap flag and map counts arrive already corrected; raw view keeps hacker bits", () => {
  const b = new FileReportBuilder([target("/h", PS)], { pageSize: PS, raw: true });
  const p = pagemapPages(0, [[0, 5, UPTODATE | LRU | MMAP, 2]]);
  (p.flagsHi as Uint32Array)[0] = 1 << (35 - 32); // PG_private, a hacker bit
  b.pages(p);
  b.done(probe(0, { size: PS, resident: 1 }));
  const f = build(b).files[0]!;
  assert.equal(f.mapped, PS);
  assert.deepEqual(Object.keys(f.flags!).sort(), ["lru", "mmap", "private", "uptodate"]);
  const quiet = new FileReportBuilder([target("/h", PS)], { pageSize: PS });
  quiet.pages(p);
  quiet.done(probe(0, { size: PS, resident: 1 }));
  assert.deepEqual(Object.keys(build(quiet).files[0]!.flags!).sort(), ["lru", "mmap", "uptodate"]);
});

test("mincore detail: residency ranges without PFNs or flags; cachestat totals; nothing invented", () => {
  const b = new FileReportBuilder([target("/m", 8 * PS)], { pageSize: PS, list: "ranges" });
  b.pages({ file: 0, count: 4, index: Float64Array.from([0, 1, 2, 6]) });
  b.done(probe(0, { size: 8 * PS, walked: "mincore", resident: 4, cachestat: { cached: 4, dirty: 1, writeback: 0, evicted: 0, recentlyEvicted: 0 } }));
  const f = build(b).files[0]!;
  assert.equal(f.source, "mincore");
  assert.equal(f.cached, 4 * PS);
  assert.equal(f.dirty, PS);
  assert.equal(f.flags, null);
  assert.equal(f.mapped, null);
  assert.equal(f.combinations, null);
  assert.deepEqual(f.ranges!.map((x) => [x.page, x.pages, x.pfn, x.flags]), [[0, 3, null, null], [6, 1, null, null]]);
});

test("totals-only and hidden files: cached from cachestat, or unknown with the reason", () => {
  const b = new FileReportBuilder([target("/a", 3 * PS, 1), target("/b", 5 * PS, 2), target("/c", PS, 3)], { pageSize: PS });
  b.done(probe(0, { size: 3 * PS, walked: "none", cachestat: { cached: 2, dirty: 0, writeback: 0, evicted: 1, recentlyEvicted: 1 } }));
  b.done(probe(1, { size: 5 * PS, walked: "none", why: "the kernel hides the page-cache state of files you can neither write nor own", cachestatError: "EPERM" }));
  b.done(probe(2, { size: PS, walked: "none", why: "cannot open (EACCES)" }));
  const r = build(b);
  const [a, h, c] = r.files;
  assert.equal(a!.source, "cachestat");
  assert.equal(a!.cached, 2 * PS);
  assert.equal(a!.evicted, PS);
  assert.equal(h!.source, "none");
  assert.equal(h!.cached, null);
  assert.match(h!.note!, /neither write nor own.*cachestat failed \(EPERM\)/);
  assert.equal(c!.note, "cannot open (EACCES)");
  assert.deepEqual(r.totals, { files: 3, size: 9 * PS, cached: 2 * PS, dirty: 0, writeback: 0, evicted: PS, recentlyEvicted: PS, mapped: 0, flags: null, unknown: 2 });
});

test("--top keeps the N most cached files, largest first; totals still cover every file", () => {
  const files = [target("/x", 10 * PS, 1), target("/y", 10 * PS, 2), target("/z", 10 * PS, 3), target("/w", 10 * PS, 4)];
  const b = new FileReportBuilder(files, { pageSize: PS });
  const cached = [3, 7, 0, 7];
  cached.forEach((n, i) => b.done(probe(i, { size: 10 * PS, walked: "mincore", resident: n })));
  const r = build(b, 2);
  assert.deepEqual(r.files.map((f) => f.path), ["/w", "/y"]);
  assert.equal(r.top, 2);
  assert.equal(r.totals.files, 4);
  assert.equal(r.totals.cached, 17 * PS);
  const table = collect((w) => writeFileTable(r, { unit: "bytes" }, w));
  assert.match(table, /TOTAL: top 2 of 4 files/);
});

test("processes are reported in bytes, unreadable ones with their reason", () => {
  const b = new FileReportBuilder([target("/lib.so", 4 * PS)], { pageSize: PS });
  b.done(probe(0, { size: 4 * PS, walked: "mincore", resident: 4 }));
  b.setProcesses(0, [
    { pid: 10, user: "root", command: "a", mappings: 2, mappedBytes: 8 * PS, residentPages: 3 },
    { pid: 11, user: "bob", command: "b", mappings: 1, mappedBytes: 4 * PS, residentPages: null, reason: "permission denied" },
  ]);
  const f = build(b).files[0]!;
  assert.deepEqual(f.processes, [
    { pid: 10, user: "root", command: "a", mappings: 2, mappedBytes: 8 * PS, resident: 3 * PS },
    { pid: 11, user: "bob", command: "b", mappings: 1, mappedBytes: 4 * PS, resident: null, reason: "permission denied" },
  ]);
  const table = collect((w) => writeFileTable(build(b), { unit: "k" }, w));
  assert.match(table, /mapped by\n *PID +USER +MAPPINGS +MAPPED +RESIDENT +COMMAND\n +10 +root +2 +32K +12K +a\n +11 +bob +1 +16K +- +b\n/);
});

function collect(fn: (w: (t: string) => void) => void): string {
  let out = "";
  fn((t) => {
    out += t;
  });
  return out;
}

test("JSON writer: one valid document, ranges included, written in pieces", () => {
  const b = new FileReportBuilder([target("/one", 3 * PS, 1), target("/two", 2 * PS, 2)], { pageSize: PS, list: "ranges" });
  b.pages(pagemapPages(0, [[0, 1, UPTODATE, 0], [1, 2, UPTODATE, 0]]));
  b.done(probe(0, { size: 3 * PS, resident: 2 }));
  b.done(probe(1, { size: 2 * PS, resident: 0 }));
  const r = build(b);
  let writes = 0;
  const text = collect((w) =>
    writeFileJson(r, (t) => {
      writes++;
      w(t);
    }),
  );
  assert.ok(writes > 2);
  const doc = JSON.parse(text) as FileReport;
  assert.deepEqual(doc, JSON.parse(JSON.stringify(r)));
  assert.equal(doc.files[0]!.ranges!.length, 1);
  assert.deepEqual(doc.files[1]!.ranges, []);
  // And without listings.
  const plain = new FileReportBuilder([], { pageSize: PS });
  assert.deepEqual(JSON.parse(collect((w) => writeFileJson(build(plain), w))).files, []);
});

test("table: the listing follows page-types -f -l (hex, tab-separated)", () => {
  const b = new FileReportBuilder([target("/t", 40 * PS)], { pageSize: PS, list: "ranges" });
  b.pages(pagemapPages(0, [[16, 0x1000, UPTODATE | LRU, 1], [17, 0x1001, UPTODATE | LRU, 1], [31, 0x2000, UPTODATE, 0]], 5));
  b.done(probe(0, { size: 40 * PS, resident: 3 }));
  const text = collect((w) => writeFileTable(build(b), { unit: "human" }, w));
  assert.match(text, /foffset\tmap-cnt\tcgroup\toffset\tlen\tflags\n10\t1\t@5\t1000\t2\t___U_l_+\n1f\t0\t@5\t2000\t1\t___U_+\n/);
  const each = new FileReportBuilder([target("/t", 40 * PS)], { pageSize: PS, list: "each" });
  each.pages(pagemapPages(0, [[16, 0x1000, UPTODATE, 1], [17, 0x1001, UPTODATE, 1]]));
  each.done(probe(0, { size: 40 * PS, resident: 2 }));
  assert.match(collect((w) => writeFileTable(build(each), { unit: "human" }, w)), /foffset\tmap-cnt\tcgroup\toffset\tflags\n10\t1\t-\t1000\t___U_+\n11\t1\t-\t1001\t___U_+\n/);
});

test("splitDev follows the kernel's dev_t encoding (maps prints major:minor in hex)", () => {
  assert.deepEqual(splitDev(0xfe00n), { major: 0xfe, minor: 0 });
  assert.deepEqual(splitDev(0x803n), { major: 8, minor: 3 });
  assert.deepEqual(splitDev(0x00012345n), { major: 0x123, minor: 0x12045 & 0xff });
  // glibc makedev: minor bits 8+ go to bits 20+, major bits 12+ to bits 44+.
  const makedev = (major: bigint, minor: bigint): bigint => ((major & 0xfffff000n) << 32n) | ((major & 0xfffn) << 8n) | ((minor & 0xffffff00n) << 12n) | (minor & 0xffn);
  assert.deepEqual(splitDev(makedev(0x1034n, 0x256n)), { major: 0x1034, minor: 0x256 });
  assert.deepEqual(splitDev(makedev(259n, 1048575n)), { major: 259, minor: 1048575 });
});

test("walk: regular files only, symlinks inside not followed, hard links once, sorted", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pagelens-walk-"));
  try {
    fs.mkdirSync(path.join(dir, "sub"));
    fs.writeFileSync(path.join(dir, "b"), "bb");
    fs.writeFileSync(path.join(dir, "sub", "a"), "a");
    fs.symlinkSync(path.join(dir, "b"), path.join(dir, "link"));
    fs.symlinkSync(path.join(dir, "sub"), path.join(dir, "dirlink"));
    fs.linkSync(path.join(dir, "b"), path.join(dir, "hard"));
    const w = walkFiles([dir]);
    assert.deepEqual(
      w.files.map((f) => [path.relative(dir, f.path), f.size]),
      [
        ["b", 2],
        ["sub/a", 1],
      ],
    );
    assert.deepEqual(w.passed, { symlinks: 2, special: 0, otherFilesystems: 0, hardLinks: 1 });
    // A link named on the command line is followed.
    assert.deepEqual(walkFiles([path.join(dir, "link")]).files.map((f) => f.size), [2]);
    assert.throws(() => walkFiles([path.join(dir, "missing")]), /ENOENT/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
