/**
 * Shared objects: keep the pages of a file or shmem object that several
 * mappings map once, whatever the number of mappers.
 *
 * Why: 300 processes attached to one 256 MiB shmem segment (a PostgreSQL
 * buffer pool) each see the same 65,536 pages. Stored as runs per process,
 * that is processes x shared pages records (19.8 M runs, 308 MB, when free
 * memory was fragmented), and the kpage index and the accounting walked
 * them all (docs/performance.md). But a page-cache page (PM_FILE) mapped at
 * a given page offset of an object is the same page for every mapping of
 * that object, so it can be stored once, by offset, and each process keep
 * only which offsets it maps: a handful of references.
 *
 * How, exactly:
 *  - planObjects, before the pagemap pass: an object is a (device, inode)
 *    of a file or shmem mapping (and whether the mapping is shmem: the mark
 *    its pages get), worth a table when at least two mappings map it. Its
 *    table has one 8-byte pagemap entry per page offset of the extent its
 *    mappings cover, in the walk's WebAssembly memory, zeroed per pass.
 *  - the walk (wasm/pagemap-walk.ts): a present page-cache entry equal to
 *    the table's entry at its offset, or finding it empty and filling it,
 *    becomes part of a reference (object, offset, pages, VMA); any other
 *    entry (a page replaced between two mappers' reads, a private
 *    copy-on-write page, a PMD-sized run) is a run as before. So a
 *    reference's pages are, entry for entry, what that process's pagemap
 *    said: nothing is assumed from the key, which only decides which
 *    entries are compared.
 *  - ObjectStore.fill, after the pass: each table's filled entries become
 *    the object's runs (ScanObjects), which the kpage index looks up like
 *    any run, and references expand into (scan-data.ts forEachRefRun).
 *
 * The numbers do not change: PSS sums are integers (kernel-pss.ts), so the
 * same pages summed by reference or by run give the same bits; `--exact`
 * makes no tables, and test/fixture/shared-objects.test.ts and
 * test/live/workloads.test.ts compare the two bit for bit.
 */
import type { Vma } from "../parse/maps.js";

/** What planning needs of a mapping. */
type ObjectVma = Pick<Vma, "start" | "end" | "kind" | "offset" | "dev" | "inode">;
import { E_PAGEMAP_MASK, E_SHMEM_VMA } from "./wasm-abi.js";
import type { ScanObjects, ScanRefs } from "./scan-data.js";

/**
 * Table entries of all objects of one scan at most: 32 MiB of WebAssembly
 * memory, 16 GiB of object extent. Objects are taken by what they save
 * (pages their mappings span beyond one copy) until it is spent; the rest
 * are read as runs, as before.
 */
export const TABLE_BUDGET = 1 << 22;

export interface ObjectPlan {
  /** Per target, per VMA: the object it maps through a table, or -1. */
  readonly vmaObject: readonly Int32Array[];
  /** Per object: first page offset of its table, pages in it, first entry in the tables area, and E_SHMEM_VMA or 0. */
  readonly firstOff: Float64Array;
  readonly pages: Float64Array;
  readonly base: Float64Array;
  readonly mark: Uint8Array;
  /** Table entries in all. */
  readonly entries: number;
}

/** The object a VMA maps, as a key, or undefined when its pages cannot be shared by offset. */
function objectKey(v: ObjectVma): string | undefined {
  if (v.inode === 0 || (v.kind !== "file" && v.kind !== "shmem")) return undefined;
  return `${v.dev} ${v.inode} ${v.kind}`;
}

/** Which VMAs of which targets get a table, and where the tables lie. */
export function planObjects(targets: readonly { readonly vmas: readonly ObjectVma[] }[], pageSize: number, budget = TABLE_BUDGET): ObjectPlan {
  interface Found {
    lo: number;
    hi: number;
    mappings: number;
    mapped: number;
    shmem: boolean;
    index: number;
  }
  const byKey = new Map<string, Found>();
  // Each VMA's object, kept for the second pass (which learns which objects got a table).
  const foundOf = targets.map((t) => new Array<Found | undefined>(t.vmas.length));
  targets.forEach((t, ti) =>
    t.vmas.forEach((v, vi) => {
      const key = objectKey(v);
      if (key === undefined) return;
      const lo = Math.floor(v.offset / pageSize);
      const pages = Math.floor((v.end - v.start) / pageSize);
      let f = byKey.get(key);
      if (f) {
        f.lo = Math.min(f.lo, lo);
        f.hi = Math.max(f.hi, lo + pages);
        f.mappings++;
        f.mapped += pages;
      } else byKey.set(key, (f = { lo, hi: lo + pages, mappings: 1, mapped: pages, shmem: v.kind === "shmem", index: -1 }));
      foundOf[ti]![vi] = f;
    }),
  );
  const worth = [...byKey.values()].filter((f) => f.mappings >= 2 && f.mapped > f.hi - f.lo);
  worth.sort((a, b) => b.mapped - (b.hi - b.lo) - (a.mapped - (a.hi - a.lo)));
  const firstOff: number[] = [];
  const pages: number[] = [];
  const base: number[] = [];
  const mark: number[] = [];
  let entries = 0;
  for (const f of worth) {
    const n = f.hi - f.lo;
    if (entries + n > budget) continue;
    f.index = firstOff.length;
    firstOff.push(f.lo);
    pages.push(n);
    base.push(entries);
    mark.push(f.shmem ? E_SHMEM_VMA : 0);
    entries += n;
  }
  const vmaObject = foundOf.map((found) => Int32Array.from(found, (f) => f?.index ?? -1));
  return { vmaObject, firstOff: Float64Array.from(firstOff), pages: Float64Array.from(pages), base: Float64Array.from(base), mark: Uint8Array.from(mark), entries };
}

/** No tables (an exact scan, or a reader without them). */
export function noObjects(targets: readonly { readonly vmas: readonly ObjectVma[] }[]): ObjectPlan {
  return { vmaObject: targets.map((t) => new Int32Array(t.vmas.length).fill(-1)), firstOff: new Float64Array(0), pages: new Float64Array(0), base: new Float64Array(0), mark: new Uint8Array(0), entries: 0 };
}

/** A copy of `a` in a new array of `m` entries. */
function grown<T extends Float64Array | Uint32Array>(a: T, m: number): T {
  const b = new (a.constructor as new (n: number) => T)(m);
  b.set(a);
  return b;
}

/** References as the walk finds them, in growable columns (a scanner keeps one from scan to scan). */
export class RefStore {
  object = new Uint32Array(1024);
  off = new Float64Array(1024);
  len = new Uint32Array(1024);
  vma = new Uint32Array(1024);
  length = 0;
  /** Pages in all references. */
  pages = 0;

  push(object: number, off: number, len: number, vma: number): void {
    const n = this.length;
    // The walk emits a process's stretches in address order: a stretch continuing the last one (a read split at a batch) extends it.
    if (n > 0 && this.object[n - 1] === object && this.vma[n - 1] === vma && this.off[n - 1]! + this.len[n - 1]! === off) {
      this.len[n - 1]! += len;
      this.pages += len;
      return;
    }
    if (n === this.object.length) this.grow();
    this.object[n] = object;
    this.off[n] = off;
    this.len[n] = len;
    this.vma[n] = vma;
    this.length = n + 1;
    this.pages += len;
  }

  private grow(): void {
    const m = this.object.length * 2;
    this.object = grown(this.object, m);
    this.off = grown(this.off, m);
    this.len = grown(this.len, m);
    this.vma = grown(this.vma, m);
  }

  reset(): void {
    this.length = 0;
    this.pages = 0;
  }

  /** Drop references from `length` on (a process rolled back). */
  truncate(length: number): void {
    while (this.length > length) {
      this.length--;
      this.pages -= this.len[this.length]!;
    }
  }

  /** The references as the scan's plain value holds them: views, valid until the store is reset. */
  view(): ScanRefs {
    const n = this.length;
    return { object: this.object.subarray(0, n), off: this.off.subarray(0, n), len: this.len.subarray(0, n), vma: this.vma.subarray(0, n) };
  }
}

/**
 * The shared objects' runs of one scan, in columns kept from scan to scan
 * (a scanner keeps one, as it keeps its run store): each table's filled
 * entries (pagemap words, 0 where no mapper had a matching page: `words`
 * holds two 32-bit halves per entry, from the start of the tables area) as
 * runs by page offset of consecutive offsets whose entries continue each
 * other (the next PFN, the same bits).
 */
export class ObjectStore {
  private first = new Uint32Array(64);
  private off = new Float64Array(1024);
  private pfn = new Float64Array(1024);
  private len = new Uint32Array(1024);
  private bits = new Uint8Array(1024);

  /** The runs of `plan`'s tables: views on the store's columns, valid until the next fill. */
  fill(plan: ObjectPlan, words: Uint32Array): ScanObjects {
    const nObj = plan.firstOff.length;
    // Two passes over the entries: count the runs, then fill columns of at least that size.
    const n = this.runs(plan, words, false);
    if (nObj + 1 > this.first.length) this.first = new Uint32Array(Math.max(nObj + 1, 2 * this.first.length));
    if (n > this.off.length) {
      const m = Math.max(n, 2 * this.off.length);
      this.off = new Float64Array(m);
      this.pfn = new Float64Array(m);
      this.len = new Uint32Array(m);
      this.bits = new Uint8Array(m);
    }
    this.runs(plan, words, true);
    return { first: this.first.subarray(0, nObj + 1), off: this.off.subarray(0, n), pfn: this.pfn.subarray(0, n), len: this.len.subarray(0, n), bits: this.bits.subarray(0, n) };
  }

  /** Count the runs of every table, and write them when `write`; returns how many. */
  private runs(plan: ObjectPlan, words: Uint32Array, write: boolean): number {
    const nObj = plan.firstOff.length;
    const { first, off, pfn, len, bits } = this;
    let n = 0;
    for (let o = 0; o < nObj; o++) {
      if (write) first[o] = n;
      const base = plan.base[o]!;
      const pages = plan.pages[o]!;
      const mark = plan.mark[o]!;
      // The entry a run's next page must have, as its two halves; -1: no run open.
      let wantLo = -1;
      let wantHi = -1;
      for (let i = 0; i < pages; i++) {
        const lo = words[2 * (base + i)]!;
        const hi = words[2 * (base + i) + 1]!;
        if (lo === 0 && hi === 0) {
          wantLo = -1;
          continue;
        }
        if (lo === wantLo && hi === wantHi) {
          if (write) len[n - 1]!++;
        } else {
          if (write) {
            off[n] = plan.firstOff[o]! + i;
            // PFN: bits 0-54 of the entry.
            pfn[n] = (hi & 0x7fffff) * 2 ** 32 + lo;
            len[n] = 1;
            bits[n] = ((hi >>> 23) & E_PAGEMAP_MASK) | mark;
          }
          n++;
        }
        // The next PFN with the same bits (a carry out of the low half goes into the high half).
        wantLo = (lo + 1) >>> 0;
        wantHi = wantLo === 0 ? (hi + 1) >>> 0 : hi;
      }
    }
    if (write) first[nObj] = n;
    return n;
  }
}
