/**
 * `pagelens system`: the census classes, the pure reconciliation on inputs
 * written by hand, the renderers, and the whole command on a fixture tree
 * whose meminfo, kpageflags and processes were laid out so that every line
 * of the reconciliation can be computed by hand (the arithmetic is spelt
 * out next to each expected value).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  KPF_ACTIVE,
  KPF_ANON,
  KPF_BUDDY,
  KPF_COMPOUND_HEAD,
  KPF_COMPOUND_TAIL,
  KPF_HUGE,
  KPF_IDLE,
  KPF_KSM,
  KPF_LRU,
  KPF_MMAP,
  KPF_NOPAGE,
  KPF_OFFLINE,
  KPF_OWNER_2,
  KPF_PGTABLE,
  KPF_PRIVATE,
  KPF_REFERENCED,
  KPF_RESERVED,
  KPF_SLAB,
  KPF_SWAPBACKED,
  KPF_SWAPCACHE,
  KPF_THP,
  KPF_UPTODATE,
  KPF_ZERO_PAGE,
} from "../../src/decode/kpageflags.js";
import { parseMeminfo } from "../../src/parse/meminfo.js";
import {
  CENSUS_CLASSES,
  classifyFlags,
  emptyClassCounts,
  reconcileSystem,
  buildSystemReport,
  summarizeCensus,
  zoneManagedPages,
  type CensusClass,
  type CensusSummary,
  type ProcessFigures,
  type SystemInputs,
  type SystemLine,
  type SystemReport,
} from "../../src/report/system-report.js";
import { renderSystemJson, renderSystemTable } from "../../src/render/system-render.js";
import type { ScanHeader } from "../../src/report/scan-header.js";
import { FlagCounter, type Census } from "../../src/scan/census.js";
import { run } from "../../src/cli/run.js";
import { captureIo, DEFAULT_KERNEL_CONFIG, FixtureTree, formatMeminfo } from "../support/fixture-tree.js";
import { anonPage, anonPte, filePage, flagsWord, hugetlbPage, page, PAGE_SIZE, PMD_PAGES, pte, shmemPage, zeroPage } from "../support/pagemap-builder.js";

const KB = 1024;
const P = PAGE_SIZE;

function word(bits: readonly number[]): [number, number] {
  const w = flagsWord(bits);
  return [w.lo, w.hi];
}

/** Lines by id, parts included ("kernel.slab"). */
function byId(lines: readonly SystemLine[], prefix = ""): Map<string, SystemLine> {
  const out = new Map<string, SystemLine>();
  for (const l of lines) {
    out.set(prefix + l.id, l);
    for (const [k, v] of byId(l.parts, `${prefix}${l.id}.`)) out.set(k, v);
  }
  return out;
}

/** The lines add up to MemTotal, and every line's parts to the line. */
function assertAddsUp(lines: readonly SystemLine[], memTotal: number): void {
  assert.equal(
    lines.reduce((a, l) => a + l.bytes, 0),
    memTotal,
    "top-level lines add up to MemTotal",
  );
  const walk = (ls: readonly SystemLine[]): void => {
    for (const l of ls) {
      if (l.parts.length > 0)
        assert.equal(
          l.parts.reduce((a, q) => a + q.bytes, 0),
          l.bytes,
          `the parts of ${l.id} add up to it`,
        );
      walk(l.parts);
    }
  };
  walk(lines);
  assert.equal(lines[lines.length - 1]!.id, "notAttributed", "the remainder is the last line, always present");
}

describe("census classes", () => {
  const cases: [string, readonly number[], CensusClass][] = [
    ["the word 0", [], "noFlags"],
    ["nopage", [KPF_NOPAGE], "noMemmap"],
    ["offline (balloon)", [KPF_OFFLINE], "offline"],
    ["free hugetlb pool page", [KPF_HUGE, KPF_COMPOUND_HEAD], "hugetlb"],
    ["mapped hugetlb page", [KPF_UPTODATE, KPF_MMAP, KPF_ANON, KPF_HUGE, KPF_COMPOUND_TAIL], "hugetlb"],
    ["buddy", [KPF_BUDDY], "buddy"],
    ["reported free page (uptodate is PG_reported on buddy pages)", [KPF_UPTODATE, KPF_BUDDY], "buddy"],
    ["slab", [KPF_SLAB], "slab"],
    ["slab whose metadata sets the anon bit (measured 0x1080)", [KPF_SLAB, KPF_ANON], "slab"],
    ["slab, anonymous, ksm (measured 0x201080)", [KPF_SLAB, KPF_ANON, KPF_KSM], "slab"],
    ["page table", [KPF_PGTABLE, KPF_REFERENCED], "pageTables"],
    ["4 KiB zero page (zero_page + reserved)", [KPF_ZERO_PAGE, KPF_RESERVED], "zeroPage"],
    ["huge zero page tail", [KPF_THP, KPF_ZERO_PAGE, KPF_COMPOUND_TAIL], "zeroPage"],
    ["mapped anon with anon_exclusive", [KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_ANON, KPF_SWAPBACKED, KPF_OWNER_2], "mappedAnon"],
    ["mapped THP tail", [KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_ANON, KPF_SWAPBACKED, KPF_THP, KPF_COMPOUND_TAIL, KPF_IDLE], "mappedAnon"],
    ["mapped shmem", [KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_SWAPBACKED], "mappedShmem"],
    ["mapped file", [KPF_REFERENCED, KPF_UPTODATE, KPF_LRU, KPF_ACTIVE, KPF_MMAP], "mappedFile"],
    ["vDSO page: reserved but mapped", [KPF_MMAP, KPF_RESERVED], "mappedFile"],
    ["swap cache page nobody maps", [KPF_UPTODATE, KPF_LRU, KPF_ANON, KPF_SWAPBACKED, KPF_SWAPCACHE], "anonUnmapped"],
    ["tmpfs page nobody maps", [KPF_UPTODATE, KPF_LRU, KPF_SWAPBACKED], "shmemUnmapped"],
    ["file page nobody maps, with buffer heads", [KPF_UPTODATE, KPF_LRU, KPF_PRIVATE], "pageCacheUnmapped"],
    ["large page-cache folio tail", [KPF_UPTODATE, KPF_LRU, KPF_THP, KPF_COMPOUND_TAIL], "pageCacheUnmapped"],
    ["reserved (kernel image, firmware)", [KPF_RESERVED], "reserved"],
    ["tail of a kernel compound allocation (measured 0x10000)", [KPF_COMPOUND_TAIL], "other"],
    ["uptodate, off the LRU", [KPF_UPTODATE], "other"],
  ];
  for (const [name, bits, want] of cases)
    it(`${name} -> ${want}`, () => {
      const [lo, hi] = word(bits);
      assert.equal(classifyFlags(lo, hi), want);
    });

  it("summarizeCensus adds pages per class, classifying each distinct word once", () => {
    const counts = new FlagCounter();
    const add = (bits: readonly number[], n: number): void => {
      const [lo, hi] = word(bits);
      counts.add(lo, hi, n);
    };
    add([], 1000);
    add([KPF_BUDDY], 300);
    add([KPF_UPTODATE, KPF_BUDDY], 7);
    add([KPF_SLAB], 40);
    add([KPF_SLAB, KPF_ANON], 2);
    add([KPF_UPTODATE, KPF_LRU, KPF_MMAP, KPF_ANON, KPF_SWAPBACKED], 50);
    add([KPF_UPTODATE, KPF_LRU], 25);
    const census: Census = { scope: "pfn", counts, pages: 1424, examined: 1424, runs: undefined, pfnEnd: 1424, beyondEnd: 0, skippedNonPresent: 0 };
    const s = summarizeCensus(census, "/proc/kpageflags");
    assert.equal(s.pfns, 1424);
    assert.equal(s.source, "/proc/kpageflags");
    const want = { ...emptyClassCounts(), noFlags: 1000, buddy: 307, slab: 42, mappedAnon: 50, pageCacheUnmapped: 25 };
    assert.deepEqual(s.pages, want);
    assert.equal(
      CENSUS_CLASSES.reduce((a, k) => a + s.pages[k], 0),
      s.pfns,
      "the classes partition the census",
    );
  });
});

/** meminfo in kB as the kernel prints it, parsed by the real parser (values become bytes). */
function meminfoKb(values: Record<string, number>): ReturnType<typeof parseMeminfo> {
  return parseMeminfo(formatMeminfo(values));
}

/** A machine described by hand: 4 KiB pages, everything in kB. */
const HAND_MEMINFO: Record<string, number> = {
  MemTotal: 1_000_000,
  MemFree: 600_000,
  Buffers: 10_000,
  Cached: 150_000,
  AnonPages: 100_000,
  Mapped: 60_000,
  Shmem: 30_000,
  KReclaimable: 45_000,
  Slab: 50_000,
  SReclaimable: 40_000,
  SUnreclaim: 10_000,
  KernelStack: 4_000,
  PageTables: 6_000,
  SecPageTables: 0,
  VmallocUsed: 20_000,
  Percpu: 1_000,
  HugePages_Total: 4,
  HugePages_Free: 1,
  HugePages_Rsvd: 0,
  HugePages_Surp: 0,
  Hugepagesize: 2048,
  Hugetlb: 8192,
};

function handCensus(pages: Partial<Record<CensusClass, number>>): CensusSummary {
  const all = { ...emptyClassCounts(), ...pages };
  return { source: "kpageflags", pfns: CENSUS_CLASSES.reduce((a, k) => a + all[k], 0), pages: all };
}

// In pages of 4 KiB (kB / 4).
const HAND_CENSUS = handCensus({
  mappedAnon: 25_000, // 100 000 kB
  mappedFile: 8_000, // 32 000 kB
  mappedShmem: 7_000, // 28 000 kB
  pageCacheUnmapped: 30_000, // 120 000 kB
  shmemUnmapped: 500, // 2 000 kB
  anonUnmapped: 10, // 40 kB
  slab: 12_000, // 48 000 kB
  pageTables: 1_500, // 6 000 kB
  hugetlb: 2_048, // 8 192 kB
  buddy: 149_000, // 596 000 kB
  noFlags: 50_000,
  reserved: 3_000,
});

const HEADER: ScanHeader = { schemaVersion: 1, takenAt: "2026-01-01T00:00:00.000Z", mode: "pagemap", kernel: { release: "6.18.0", pageSize: 4096, mapcount: "precise" } };

const HAND_PROCESSES: ProcessFigures = {
  distinct: 158_000 * KB,
  anon: 99_000 * KB,
  file: 31_000 * KB,
  shmem: 28_000 * KB,
  hugetlbMapped: 6_144 * KB,
  measured: 40,
  unreadable: 1,
  rollupOnly: 0,
};

describe("reconcileSystem on hand-written inputs", () => {
  const inputs: SystemInputs = { meminfo: meminfoKb(HAND_MEMINFO), census: HAND_CENSUS, processes: HAND_PROCESSES, pageSize: 4096, vmapStack: true };

  it("computes every line as documented, and the remainder", () => {
    const r = reconcileSystem(inputs);
    assert.equal(r.memTotal, 1_000_000 * KB);
    const l = byId(r.lines);
    const kb = (id: string): number => l.get(id)!.bytes / KB;
    assert.deepEqual(
      r.lines.map((x) => x.id),
      ["processes", "pageCache", "shmem", "anonUnmapped", "kernel", "hugetlb", "free", "notAttributed"],
    );
    assert.equal(kb("processes"), 158_000);
    assert.equal(kb("processes.anon"), 99_000);
    assert.equal(kb("processes.file"), 31_000);
    assert.equal(kb("processes.shmem"), 28_000);
    assert.equal(kb("pageCache"), 120_000); // census 30 000 pages
    assert.equal(kb("shmem"), 2_000); // census 500 pages
    assert.equal(kb("anonUnmapped"), 40); // census 10 pages
    assert.equal(kb("kernel.slab"), 50_000); // SReclaimable 40 000 + SUnreclaim 10 000
    assert.equal(kb("kernel.otherReclaimable"), 5_000); // KReclaimable 45 000 − SReclaimable 40 000
    assert.equal(kb("kernel.pageTables"), 6_000);
    assert.equal(kb("kernel.kernelStack"), 4_000);
    assert.equal(kb("kernel.vmalloc"), 16_000); // VmallocUsed 20 000 − KernelStack 4 000 (vmap stacks)
    assert.equal(kb("kernel.percpu"), 1_000);
    assert.equal(l.has("kernel.secPageTables"), false, "a zero SecPageTables is left out");
    assert.equal(l.has("kernel.zswap"), false, "no Zswap line without the field");
    assert.equal(kb("kernel"), 82_000); // 50 000 + 5 000 + 6 000 + 4 000 + 16 000 + 1 000
    assert.equal(kb("hugetlb"), 8_192); // Hugetlb
    assert.equal(kb("hugetlb.used"), 6_144); // (4 − 1) × 2048
    assert.equal(kb("hugetlb.free"), 2_048); // 1 × 2048
    assert.equal(l.has("hugetlb.otherSizes"), false, "Hugetlb = HugePages_Total × Hugepagesize: no other sizes");
    assert.equal(kb("free"), 600_000);
    // 1 000 000 − (158 000 + 120 000 + 2 000 + 40 + 82 000 + 8 192 + 600 000) = 29 768
    assert.equal(kb("notAttributed"), 29_768);
    assertAddsUp(r.lines, r.memTotal);
  });

  it("carries the other sources' figures as cross-checks", () => {
    const l = byId(reconcileSystem(inputs).lines);
    const checks = (id: string): Record<string, number> => Object.fromEntries(l.get(id)!.checks.map((c) => [`${c.source} ${c.how}`, c.bytes / KB]));
    assert.deepEqual(checks("processes"), { "census mmap": 160_000, "meminfo AnonPages + Mapped": 160_000 });
    assert.deepEqual(checks("processes.anon"), { "census mmap, anon": 100_000, "meminfo AnonPages": 100_000 });
    assert.deepEqual(checks("processes.file"), { "census mmap, not anon or swapbacked": 32_000 });
    assert.deepEqual(checks("processes.shmem"), { "census mmap, swapbacked, not anon": 28_000 });
    // Buffers 10 000 + Cached 150 000 − Shmem 30 000 − (Mapped 60 000 − census mapped shmem 28 000) = 98 000
    assert.deepEqual(checks("pageCache"), { "meminfo Buffers + Cached − Shmem − (Mapped − census mapped shmem)": 98_000 });
    // Shmem 30 000 − census mapped shmem 28 000
    assert.deepEqual(checks("shmem"), { "meminfo Shmem − census mapped shmem": 2_000 });
    assert.deepEqual(checks("kernel.slab"), { "census slab": 48_000 });
    assert.deepEqual(checks("kernel.pageTables"), { "census pgtable": 6_000 });
    assert.deepEqual(checks("hugetlb"), { "census huge": 8_192 });
    assert.deepEqual(checks("hugetlb.used"), { "scan distinct hugetlb pages mapped": 6_144 });
    assert.deepEqual(checks("free"), { "census buddy": 596_000 });
  });

  it("notes the unreadable process, the flagless pages and the remainder; no race note off a live machine", () => {
    const rep = buildSystemReport(inputs, { header: HEADER, live: false });
    const text = rep.notes.join("\n");
    assert.match(text, /1 process could not be read/);
    assert.match(text, /195\.3 MiB of pages with no flags/); // 50 000 pages
    assert.match(text, /"Not attributed" \(29\.1 MiB\)/); // 29 768 kB
    assert.doesNotMatch(text, /MemFree is/, "MemFree − buddy = 4 000 kB, under 1% of MemTotal");
    assert.doesNotMatch(text, /one after another/);
    assert.equal(rep.census?.classes.length, CENSUS_CLASSES.length);
    assert.equal(rep.census?.bytes, HAND_CENSUS.pfns * 4096);
  });

  it("shows a negative remainder as it is", () => {
    const r = reconcileSystem({ ...inputs, meminfo: meminfoKb({ ...HAND_MEMINFO, MemFree: 650_000 }) });
    const rest = r.lines[r.lines.length - 1]!;
    assert.equal(rest.bytes, (29_768 - 50_000) * KB);
    assertAddsUp(r.lines, r.memTotal);
  });

  it("notes MemFree far above the buddy pages (free memory outside the buddy lists reads as flags 0)", () => {
    const r = reconcileSystem({ ...inputs, census: handCensus({ ...HAND_CENSUS.pages, buddy: 100_000 }) });
    // MemFree 600 000 kB − 400 000 kB of buddy pages
    assert.ok(r.notes.some((n) => n.startsWith("MemFree is 195.3 MiB more than the free pages the census found in the buddy allocator")), r.notes.join("\n"));
  });

  it("zoneinfo: memory MemTotal counts but no zone manages yet is named, and explains MemFree above the buddy pages", () => {
    const census = handCensus({ ...HAND_CENSUS.pages, buddy: 100_000 });
    // 1 000 000 kB − 800 000 kB managed = 200 000 kB not initialised, more than MemFree − buddy (200 000 kB): no MemFree note.
    const r = reconcileSystem({ ...inputs, census, zoneManaged: 800_000 * KB });
    assert.ok(r.notes.some((n) => n.startsWith("MemTotal counts 195.3 MiB more than the memory zones manage")), r.notes.join("\n"));
    assert.equal(r.notes.some((n) => n.startsWith("MemFree is")), false);
    // Zones managing all of MemTotal: no such note.
    const all = reconcileSystem({ ...inputs, zoneManaged: 1_000_000 * KB });
    assert.equal(all.notes.some((n) => n.startsWith("MemTotal counts")), false);
  });

  it("free page reporting: the note bounds what it may hold off MemFree, by max_waiting_mib or by upstream's 32 blocks", () => {
    const upstream = reconcileSystem({ ...inputs, pageReporting: { order: 9 } });
    // 32 × 2^9 pages × 4 KiB
    assert.ok(upstream.notes.some((n) => n.startsWith("Free page reporting is built in (page_reporting_order 9)") && n.endsWith("up to 64.0 MiB at a time (32 blocks of 2^9 pages).")), upstream.notes.join("\n"));
    const custom = reconcileSystem({ ...inputs, pageReporting: { order: 9, maxWaiting: 1024 * 1024 * 1024 } });
    assert.ok(custom.notes.some((n) => n.endsWith("up to 1.0 GiB at a time (max_waiting_mib).")), custom.notes.join("\n"));
    assert.equal(reconcileSystem(inputs).notes.some((n) => n.startsWith("Free page reporting")), false);
  });

  it("zoneManagedPages sums the managed lines of /proc/zoneinfo", () => {
    const text = [
      "Node 0, zone      DMA",
      "  per-node stats",
      "      nr_inactive_anon 1646663",
      "  pages free     3840",
      "        boost    0",
      "        spanned  4095",
      "        present  3998",
      "        managed  3840",
      "        cma      0",
      "Node 0, zone   Normal",
      "  pages free     2664373",
      "        present  5505024",
      "        managed  2916352",
      "Node 0, zone  Movable",
      "  pages free     0",
      "        managed  0",
      "",
    ].join("\n");
    assert.equal(zoneManagedPages(text), 3840 + 2916352);
  });

  it("the remainder's note gives the mapped pages the census sees beyond the scan's, signed", () => {
    const more = reconcileSystem({ ...inputs, processes: { ...HAND_PROCESSES, distinct: 100_000 * KB, anon: 41_000 * KB } });
    // census mapped 160 000 kB − scan 100 000 kB
    assert.ok(more.notes.some((n) => n.includes("(the census sees 58.6 MiB more mapped pages than the scan counted)")), more.notes.join("\n"));
    const fewer = reconcileSystem({ ...inputs, processes: { ...HAND_PROCESSES, distinct: 170_000 * KB, anon: 111_000 * KB } });
    assert.ok(fewer.notes.some((n) => n.includes("(the census sees 9.8 MiB fewer mapped pages than the scan counted)")), fewer.notes.join("\n"));
    const noCensus = reconcileSystem({ ...inputs, census: undefined });
    assert.equal(noCensus.notes.some((n) => n.includes("the census sees")), false);
  });

  it("without CONFIG_VMAP_STACK the stacks stay in VmallocUsed too, so vmalloc is not reduced", () => {
    const l = byId(reconcileSystem({ ...inputs, vmapStack: false }).lines);
    assert.equal(l.get("kernel.vmalloc")!.bytes, 20_000 * KB);
    assert.equal(l.get("kernel.vmalloc")!.how, "VmallocUsed");
  });

  it("with no kernel config, VmallocUsed ≥ KernelStack means vmap stacks, smaller means not; both said in a note", () => {
    const yes = reconcileSystem({ ...inputs, vmapStack: undefined });
    assert.equal(byId(yes.lines).get("kernel.vmalloc")!.bytes, 16_000 * KB);
    assert.ok(yes.notes.some((n) => /assumed to be vmalloc'd/.test(n)));
    const no = reconcileSystem({ ...inputs, vmapStack: undefined, meminfo: meminfoKb({ ...HAND_MEMINFO, VmallocUsed: 3_000 }) });
    assert.equal(byId(no.lines).get("kernel.vmalloc")!.bytes, 3_000 * KB);
    assert.ok(no.notes.some((n) => /assumed not to be vmalloc'd/.test(n)));
  });

  it("lists optional kernel counters when non-zero, and pools of other huge page sizes", () => {
    const mi = meminfoKb({ ...HAND_MEMINFO, SecPageTables: 300, ShadowCallStack: 200, Zswap: 700, Hugetlb: 8192 + 1_048_576 });
    const r = reconcileSystem({ ...inputs, meminfo: mi });
    const l = byId(r.lines);
    assert.equal(l.get("kernel.secPageTables")!.bytes, 300 * KB);
    assert.equal(l.get("kernel.shadowCallStack")!.bytes, 200 * KB);
    assert.equal(l.get("kernel.zswap")!.bytes, 700 * KB);
    // Shadow call stacks are vmalloc'd as well: 20 000 − 4 000 − 200
    assert.equal(l.get("kernel.vmalloc")!.bytes, 15_800 * KB);
    assert.equal(l.get("kernel.vmalloc")!.how, "VmallocUsed − KernelStack − ShadowCallStack");
    assert.equal(l.get("hugetlb")!.bytes, (8192 + 1_048_576) * KB);
    assert.equal(l.get("hugetlb.otherSizes")!.bytes, 1_048_576 * KB);
    assertAddsUp(r.lines, r.memTotal);
  });

  it("older kernels: Slab without its split, no Hugetlb field", () => {
    const { SReclaimable: _a, SUnreclaim: _b, KReclaimable: _c, Hugetlb: _d, ...old } = HAND_MEMINFO;
    const r = reconcileSystem({ ...inputs, meminfo: meminfoKb(old) });
    const l = byId(r.lines);
    assert.equal(l.get("kernel.slab")!.how, "Slab");
    assert.equal(l.get("kernel.slab")!.bytes, 50_000 * KB);
    assert.equal(l.has("kernel.otherReclaimable"), false);
    assert.equal(l.get("hugetlb")!.how, "HugePages_Total × Hugepagesize");
    assert.equal(l.get("hugetlb")!.bytes, 4 * 2048 * KB);
    assertAddsUp(r.lines, r.memTotal);
  });

  it("without root: meminfo alone, page cache and shmem in one line, and notes saying what root would add", () => {
    const r = reconcileSystem({ meminfo: meminfoKb(HAND_MEMINFO), pageSize: 4096, vmapStack: true });
    assert.deepEqual(
      r.lines.map((x) => x.id),
      ["processes", "pageCacheAndShmem", "kernel", "hugetlb", "free", "notAttributed"],
    );
    const l = byId(r.lines);
    assert.equal(l.get("processes")!.bytes, 160_000 * KB); // AnonPages 100 000 + Mapped 60 000
    assert.equal(l.get("processes.anon")!.bytes, 100_000 * KB);
    assert.equal(l.get("processes.fileAndShmem")!.bytes, 60_000 * KB);
    assert.equal(l.get("pageCacheAndShmem")!.bytes, 100_000 * KB); // Buffers 10 000 + Cached 150 000 − Mapped 60 000
    assert.deepEqual(l.get("free")!.checks, []);
    // 1 000 000 − (160 000 + 100 000 + 82 000 + 8 192 + 600 000)
    assert.equal(l.get("notAttributed")!.bytes, 49_808 * KB);
    assertAddsUp(r.lines, r.memTotal);
    assert.ok(r.notes.some((n) => /needs root \(PFNs in pagemap/.test(n)));
    assert.ok(r.notes.some((n) => /needs root \(\/proc\/kpageflags\)/.test(n)));
  });

  it("without a census the race note names only the scan and meminfo", () => {
    const rep = buildSystemReport({ meminfo: meminfoKb(HAND_MEMINFO), pageSize: 4096, vmapStack: true }, { header: HEADER, live: true, timing: { scanMs: 40, censusMs: 0, spanMs: 45, memFreeChangeDuringCensus: 0 } });
    assert.ok(rep.notes.some((n) => n.startsWith("The scan (0.0 s) and /proc/meminfo were read one after another over 0.0 s")), rep.notes.join("\n"));
    assert.equal(rep.notes.some((n) => n.includes("processes not read")), false, "the meminfo processes line covers every process");
  });

  it("the race note, on a live machine, gives the timing and how far MemFree moved during the census", () => {
    const rep = buildSystemReport(inputs, { header: HEADER, live: true, timing: { scanMs: 512, censusMs: 480, spanMs: 1003, memFreeChangeDuringCensus: -3 * 1024 * 1024 } });
    assert.ok(
      rep.notes.some((n) => n.startsWith("The scan (0.5 s), the census (0.5 s) and /proc/meminfo were read one after another over 1.0 s") && n.includes("MemFree moved by -3.0 MiB")),
      rep.notes.join("\n"),
    );
  });
});

describe("system renderers", () => {
  const rep: SystemReport = buildSystemReport(
    { meminfo: meminfoKb(HAND_MEMINFO), census: HAND_CENSUS, processes: HAND_PROCESSES, pageSize: 4096, vmapStack: true },
    { header: HEADER, live: false },
  );

  it("the table indents parts, shows sources and cross-checks, and ends with the MemTotal footer", () => {
    const text = renderSystemTable(rep, "k");
    const lines = text.split("\n");
    const row = (label: string): string => {
      const r = lines.find((x) => x.startsWith(label));
      assert.ok(r, `no row starting ${JSON.stringify(label)} in\n${text}`);
      return r;
    };
    assert.match(row("mapped by processes"), /158000K\s+15\.8%\s+scan: distinct pages of 40 processes\s+census 160000K; meminfo 160000K$/);
    assert.match(row("  anonymous"), /99000K/);
    assert.match(row("  vmalloc (without stacks)"), /16000K\s+1\.6%\s+meminfo: VmallocUsed − KernelStack$/);
    assert.match(row("not attributed"), /29768K\s+3\.0%\s+MemTotal − the lines above$/);
    assert.match(row("MemTotal"), /1000000K\s+100\.0%/);
    // The census by class: only the classes with pages, then the total.
    assert.match(row("free (buddy allocator)"), /596000K\s+149000$/);
    assert.equal(lines.some((x) => x.startsWith("offline")), false);
    assert.match(row("all PFNs"), new RegExp(`${HAND_CENSUS.pfns}$`));
  });

  it("JSON: one document, sizes in bytes", () => {
    const doc = JSON.parse(renderSystemJson(rep)) as SystemReport;
    assert.equal(doc.schemaVersion, 1);
    assert.equal(doc.memTotal, 1_000_000 * KB);
    assertAddsUp(doc.lines, doc.memTotal);
    assert.equal(doc.census?.classes.find((c) => c.id === "buddy")?.bytes, 149_000 * 4096);
  });
});

// ---------------------------------------------------------------------------
// The command on a fixture tree.

/**
 * The machine, in 4 KiB pages:
 *
 *   pid 100 app:   3 private anon pages (exclusive: settled without lookup), 1 zero-page PTE,
 *                  2 pages of libshared (file, count 2)
 *   pid 200 db:    the same 2 libshared pages, 1 private page of its data file (count 1),
 *                  4 pages of a MAP_SHARED /dev/shm segment (count 1), 2 anon pages
 *                  COW-shared with its child (count 2), one 2 MiB hugetlb page (512 PFNs)
 *   pid 201 child: the 2 COW pages
 *   pid 2:         a kernel thread
 *
 * Distinct mapped: anon 3 + 2 = 5, file 2 + 1 = 3, shmem 4: 12 pages = 48 kB.
 *
 * Pages nobody maps: 10 + 2 page cache, 6 shmem, 1 swap cache, 100 + 1 buddy,
 * 20 + 2 slab, 5 page tables, 30 reserved, 3 compound tails, 4 offline,
 * 2 nopage, a free 2 MiB hugetlb page (512 PFNs). Everything else in the
 * 32768-PFN file reads 0.
 */
const F = {
  anon: 0x1000,
  cow: 0x1010,
  zero: 0x10,
  lib: 0x2000,
  data: 0x2002,
  shm: 0x3000,
  hugeUsed: 0x4000,
  hugeFree: 0x4200,
  cache: 0x5000,
  shmemFree: 0x6000,
  swapCache: 0x6100,
  buddy: 0x7000,
  slab: 0x7100,
  pgtable: 0x7200,
  reserved: 0x7300,
  other: 0x7400,
  offline: 0x7500,
  nopage: 0x7600,
} as const;

/** meminfo of the fixture, kB; the figures meminfo alone provides were chosen freely. */
const FIXTURE_MEMINFO: Record<string, number> = {
  MemTotal: 6000,
  MemFree: 500,
  MemAvailable: 900,
  Buffers: 8,
  Cached: 100,
  SwapCached: 0,
  AnonPages: 20,
  Mapped: 28,
  Shmem: 40,
  KReclaimable: 70,
  Slab: 100,
  SReclaimable: 60,
  SUnreclaim: 40,
  KernelStack: 16,
  PageTables: 20,
  SecPageTables: 0,
  VmallocUsed: 50,
  Percpu: 8,
  HugePages_Total: 2,
  HugePages_Free: 1,
  HugePages_Rsvd: 0,
  HugePages_Surp: 0,
  Hugepagesize: 2048,
  Hugetlb: 4096,
};

function fixtureMachine(options: { kpage?: boolean } = {}): FixtureTree {
  const t = FixtureTree.create({ meminfo: FIXTURE_MEMINFO, config: DEFAULT_KERNEL_CONFIG + "CONFIG_VMAP_STACK=y\n", kpage: options.kpage, swaps: [] });
  t.kernelThread(2, "kthreadd");
  // The zones manage all of MemTotal (6000 kB = 1500 pages), as on most kernels.
  t.text("zoneinfo", "Node 0, zone      DMA\n  pages free     50\n        managed  500\nNode 0, zone   Normal\n  pages free     75\n        managed  1000\n");
  const lib = { pages: 2, perms: "r-xp", dev: "fd:01", inode: 4242, name: "/usr/lib/libshared.so" };

  const app = t.process(100, { name: "app", cmdline: ["/usr/bin/app"] });
  const heap = app.map({ start: 0x5555_0000_0000, pages: 8, name: "[heap]" });
  app.fill(heap.start, 3, (i) => anonPte(F.anon + i));
  app.set(heap.start + 4 * P, pte({ pfn: F.zero }));
  const appLib = app.map({ start: 0x7f00_0000_0000, ...lib });
  app.fill(appLib.start, 2, (i) => pte({ pfn: F.lib + i, file: true }));

  const db = t.process(200, { name: "db", cmdline: ["/usr/bin/db"] });
  const dbHeap = db.map({ start: 0x5555_1000_0000, pages: 4, name: "[heap]" });
  db.fill(dbHeap.start, 2, (i) => pte({ pfn: F.cow + i }));
  const dbLib = db.map({ start: 0x7f00_0000_0000, ...lib });
  db.fill(dbLib.start, 2, (i) => pte({ pfn: F.lib + i, file: true }));
  const data = db.map({ start: 0x7f10_0000_0000, pages: 4, perms: "rw-s", dev: "fd:01", inode: 5151, name: "/var/db/data" });
  db.set(data.start, pte({ pfn: F.data, file: true }));
  const shm = db.map({ start: 0x7f20_0000_0000, pages: 4, perms: "rw-s", dev: "00:1a", inode: 77, name: "/dev/shm/seg" });
  db.fill(shm.start, 4, (i) => pte({ pfn: F.shm + i, file: true }));
  const huge = db.map({ start: 0x7f30_0000_0000, pages: PMD_PAGES, dev: "00:10", inode: 99, name: "/anon_hugepage (deleted)", vmFlags: ["rd", "wr", "mr", "mw", "me", "ht"] });
  db.fill(huge.start, PMD_PAGES, (i) => anonPte(F.hugeUsed + i));

  const child = t.process(201, { name: "db", ppid: 200, cmdline: ["/usr/bin/db", "--worker"] });
  const childHeap = child.map({ start: 0x5555_1000_0000, pages: 4, name: "[heap]" });
  child.fill(childHeap.start, 2, (i) => pte({ pfn: F.cow + i }));

  // kpage values of the mapped pages.
  t.pages(F.anon, 3, () => anonPage(1));
  t.pages(F.cow, 2, () => anonPage(2));
  t.page(F.zero, zeroPage());
  t.pages(F.lib, 2, () => filePage(2));
  t.page(F.data, filePage(1));
  t.pages(F.shm, 4, () => shmemPage(1));
  t.pages(F.hugeUsed, PMD_PAGES, (i) => hugetlbPage(i, 1));

  // Pages nobody maps.
  t.pages(F.hugeFree, PMD_PAGES, (i) => page({ count: 0, flags: [KPF_HUGE, i === 0 ? KPF_COMPOUND_HEAD : KPF_COMPOUND_TAIL] }));
  t.pages(F.cache, 10, () => page({ count: 0, flags: [KPF_UPTODATE, KPF_LRU] }));
  t.pages(F.cache + 10, 2, () => page({ count: 0, flags: [KPF_REFERENCED, KPF_UPTODATE, KPF_LRU, KPF_ACTIVE, KPF_PRIVATE] }));
  t.pages(F.shmemFree, 6, () => page({ count: 0, flags: [KPF_UPTODATE, KPF_LRU, KPF_SWAPBACKED] }));
  t.page(F.swapCache, page({ count: 0, flags: [KPF_UPTODATE, KPF_LRU, KPF_ANON, KPF_SWAPBACKED, KPF_SWAPCACHE] }));
  t.pages(F.buddy, 100, () => page({ count: 0, flags: [KPF_BUDDY] }));
  t.page(F.buddy + 100, page({ count: 0, flags: [KPF_UPTODATE, KPF_BUDDY] }));
  t.pages(F.slab, 20, () => page({ count: 0, flags: [KPF_SLAB] }));
  t.pages(F.slab + 20, 2, () => page({ count: 0, flags: [KPF_SLAB, KPF_ANON] }));
  t.pages(F.pgtable, 5, () => page({ count: 0, flags: [KPF_PGTABLE] }));
  t.pages(F.reserved, 30, () => page({ count: 0, flags: [KPF_RESERVED] }));
  t.pages(F.other, 3, () => page({ count: 0, flags: [KPF_COMPOUND_TAIL] }));
  t.pages(F.offline, 4, () => page({ count: 0, flags: [KPF_OFFLINE] }));
  t.pages(F.nopage, 2, () => page({ count: 0, flags: [KPF_NOPAGE] }));
  return t;
}

describe("pagelens system on a fixture tree", () => {
  let tree: FixtureTree;
  let bare: FixtureTree;
  before(() => {
    tree = fixtureMachine();
    tree.write();
    bare = fixtureMachine({ kpage: false });
    bare.write();
  });
  after(() => {
    tree.cleanup();
    bare.cleanup();
  });

  async function cli(t: FixtureTree, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const c = captureIo();
    const code = await run(["--root", t.root, "system", ...args], c.io);
    return { code, out: c.out(), err: c.err() };
  }

  it("--json: every line computed by hand", async () => {
    const r = await cli(tree, "--json");
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "", "JSON mode writes nothing to stderr");
    const doc = JSON.parse(r.out) as SystemReport;
    assert.equal(doc.schemaVersion, 1);
    assert.equal(doc.mode, "pagemap");
    assert.equal(doc.kernel.pageSize, 4096);
    assert.equal(doc.memTotal, 6000 * KB);
    const l = byId(doc.lines);
    const kb = (id: string): number => {
      const x = l.get(id);
      assert.ok(x, `no line ${id}`);
      return x.bytes / KB;
    };
    const pages = (n: number): number => (n * P) / KB;

    // Mapped by processes: 12 distinct pages (see fixtureMachine).
    assert.equal(kb("processes"), pages(12));
    assert.equal(kb("processes.anon"), pages(5)); // 3 private + 2 COW
    assert.equal(kb("processes.file"), pages(3)); // 2 libshared + 1 data
    assert.equal(kb("processes.shmem"), pages(4));
    assert.equal(l.get("processes")!.how, "distinct pages of 3 processes");
    assert.equal(kb("pageCache"), pages(12)); // 10 + 2
    assert.equal(kb("shmem"), pages(6));
    assert.equal(kb("anonUnmapped"), pages(1));
    assert.equal(kb("kernel.slab"), 100); // SReclaimable 60 + SUnreclaim 40
    assert.equal(kb("kernel.otherReclaimable"), 10); // KReclaimable 70 − SReclaimable 60
    assert.equal(kb("kernel.pageTables"), 20);
    assert.equal(kb("kernel.kernelStack"), 16);
    assert.equal(kb("kernel.vmalloc"), 34); // VmallocUsed 50 − KernelStack 16 (CONFIG_VMAP_STACK=y in the tree's config)
    assert.equal(kb("kernel.percpu"), 8);
    assert.equal(kb("kernel"), 188); // 100 + 10 + 20 + 16 + 34 + 8
    assert.equal(kb("hugetlb"), 4096);
    assert.equal(kb("hugetlb.used"), 2048); // (2 − 1) × 2048
    assert.equal(kb("hugetlb.free"), 2048);
    assert.equal(kb("free"), 500);
    // 6000 − (48 + 48 + 24 + 4 + 188 + 4096 + 500) = 1092
    assert.equal(kb("notAttributed"), 1092);
    assertAddsUp(doc.lines, doc.memTotal);

    // The cross-checks.
    const check = (id: string, source: string): number => {
      const c = l.get(id)!.checks.find((x) => x.source === source);
      assert.ok(c, `${id} has no ${source} cross-check`);
      return c.bytes / KB;
    };
    assert.equal(check("processes", "census"), pages(12)); // 5 + 3 + 4 mapped pages; the hugetlb and zero pages are classed apart
    assert.equal(check("processes", "meminfo"), 48); // AnonPages 20 + Mapped 28
    assert.equal(check("processes.anon", "census"), pages(5));
    assert.equal(check("processes.file", "census"), pages(3));
    assert.equal(check("processes.shmem", "census"), pages(4));
    assert.equal(check("pageCache", "meminfo"), 56); // Buffers 8 + Cached 100 − Shmem 40 − (Mapped 28 − 16 mapped shmem)
    assert.equal(check("shmem", "meminfo"), 24); // Shmem 40 − 16
    assert.equal(check("kernel.slab", "census"), pages(22));
    assert.equal(check("kernel.pageTables", "census"), pages(5));
    assert.equal(check("hugetlb", "census"), pages(1024)); // the used and the free 2 MiB page
    assert.equal(check("hugetlb.used", "scan"), 2048); // the mapped hugetlb page
    assert.equal(check("free", "census"), pages(101));

    // The census by class: the 32768 PFNs of the fixture's kpageflags.
    assert.ok(doc.census);
    assert.equal(doc.census.pfns, 32768);
    const cls = Object.fromEntries(doc.census.classes.map((c) => [c.id, c.pages]));
    const set = { mappedAnon: 5, mappedFile: 3, mappedShmem: 4, zeroPage: 1, hugetlb: 1024, pageCacheUnmapped: 12, shmemUnmapped: 6, anonUnmapped: 1, buddy: 101, slab: 22, pageTables: 5, reserved: 30, other: 3, offline: 4, noMemmap: 2 };
    const setPages = Object.values(set).reduce((a, b) => a + b, 0); // 1223
    assert.deepEqual(cls, { ...emptyClassCounts(), ...set, noFlags: 32768 - setPages });

    // Notes: MemFree 500 kB is 96 kB above the 101 buddy pages (over 1% of MemTotal); flagless pages; the remainder.
    const notes = doc.notes.join("\n");
    assert.match(notes, /MemFree is 96\.0 KiB more than the free pages/);
    assert.match(notes, /123\.2 MiB of pages with no flags/); // 31 545 pages
    assert.match(notes, /"Not attributed" \(1\.1 MiB\)/); // 1092 kB
    assert.doesNotMatch(notes, /could not be read|one after another|No kernel config|zones manage/);
    assert.equal(doc.zoneManaged, 6000 * KB);
    assert.equal(doc.timing?.censusMs !== undefined, true);
  });

  it("the mapped line is ps's distinct figure on the same tree", async () => {
    const c = captureIo();
    assert.equal(await run(["--root", tree.root, "ps", "--json"], c.io), 0, c.err());
    const ps = JSON.parse(c.out()) as { machine: { distinctMapped: number; distinctHugetlb: number } };
    assert.equal(ps.machine.distinctMapped, 12 * P);
    assert.equal(ps.machine.distinctHugetlb, PMD_PAGES * P);
  });

  it("the table: indented lines, MemTotal footer, census classes; notes on stderr", async () => {
    const r = await cli(tree, "--units", "k");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^mapped by processes\s+48K\s+0\.8%\s+scan: distinct pages of 3 processes\s+census 48K; meminfo 48K$/m);
    assert.match(r.out, /^ {2}in use \(default size\)\s+2048K/m);
    assert.match(r.out, /^not attributed\s+1092K\s+18\.2%\s+MemTotal − the lines above$/m);
    assert.match(r.out, /^MemTotal\s+6000K\s+100\.0%/m);
    assert.match(r.out, /^no flags \(not initialised yet, untyped kernel, firmware, unknown\)\s+126180K\s+31545$/m);
    assert.match(r.err, /pagelens: note: "Not attributed"/);
  });

  it("without kpage files (as without root): meminfo lines, with notes saying what is missing", async () => {
    const r = await cli(bare, "--json");
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as SystemReport;
    assert.equal(doc.mode, "smaps_rollup");
    assert.equal(doc.census, null);
    assert.equal(doc.processes, null);
    const l = byId(doc.lines);
    assert.deepEqual(
      doc.lines.map((x) => x.id),
      ["processes", "pageCacheAndShmem", "kernel", "hugetlb", "free", "notAttributed"],
    );
    assert.equal(l.get("processes")!.bytes, 48 * KB); // AnonPages 20 + Mapped 28
    assert.equal(l.get("pageCacheAndShmem")!.bytes, 80 * KB); // Buffers 8 + Cached 100 − Mapped 28
    // 6000 − (48 + 80 + 188 + 4096 + 500)
    assert.equal(l.get("notAttributed")!.bytes, 1088 * KB);
    assertAddsUp(doc.lines, doc.memTotal);
    assert.match(doc.notes.join("\n"), /needs root/);
  });

  it("a tree without meminfo is a read error (exit 3)", async () => {
    const t = FixtureTree.create({ meminfo: null });
    try {
      t.write();
      const r = await cli(t);
      assert.equal(r.code, 3, r.err);
      assert.match(r.err, /meminfo/);
    } finally {
      t.cleanup();
    }
  });
});
