/**
 * The three ways the kernel lets user space see which of a process's pages
 * were used over an interval, one sampler each. Every sampler has the same
 * life: start() at the beginning of an interval, finish() at its end, which
 * returns per-mapping page counts and starts the next interval.
 *
 *  - idle page tracking (CONFIG_IDLE_PAGE_TRACKING, /sys/kernel/mm/page_idle):
 *    mark the process's pages idle, then see which lost the mark. Per page,
 *    reads and writes, anonymous and file pages; only pages on the LRU lists
 *    are tracked (a page that is not idle right after marking is left out and
 *    counted as untracked). The kernel keeps the accessed information for
 *    reclaim (it sets the page "young" when it clears an accessed bit), so
 *    marking changes nothing reclaim sees: no --reset needed.
 *  - the accessed bits (clear_refs 1, smaps Referenced): reset every PTE's
 *    accessed bit and the pages' referenced state, then read per mapping
 *    how many are referenced again. Per mapping only. Resetting erases what
 *    reclaim knows of recent use: the process's pages look cold, may be
 *    reclaimed or swapped sooner, and other tools reading the same bits
 *    (another wss, DAMON's own sampling survives it) see them reset.
 *  - soft-dirty (CONFIG_MEM_SOFT_DIRTY, clear_refs 4, pagemap bit 55):
 *    pages written since the reset, per page; reads are invisible. Resetting
 *    write-protects every page, so the next write to each faults once, and it
 *    clears what another soft-dirty user (CRIU) was tracking.
 *
 * kernel-interfaces.md §6 has the measurements behind these rules.
 */
import { PM_PRESENT_HI, PM_SOFT_DIRTY_HI, PM_SWAP_HI, pfnOf } from "../decode/pagemap.js";
import { parseMaps, type Vma } from "../parse/maps.js";
import { parseSmaps } from "../parse/smaps.js";
import type { ProcFs, U64File } from "../procfs/procfs.js";
import { PagemapBuffer, readPagemap } from "./read-pagemap.js";

export const WSS_METHODS = ["idle", "accessed", "soft-dirty"] as const;
export type WssMethod = (typeof WSS_METHODS)[number];

/** What one interval found in one mapping, in pages. */
export interface MappingSample {
  readonly vma: Vma;
  /** Pages used in the interval (accessed, referenced or written, by method). */
  readonly used: number;
  /** Pages resident at the end of the interval. */
  readonly resident: number;
  /** Idle tracking only: resident pages the kernel does not track (not on an LRU list), neither used nor idle. */
  readonly untracked: number;
}

export interface WssSampler {
  readonly method: WssMethod;
  /** Begin the first interval. */
  start(): void;
  /** End the current interval, return what it saw, and begin the next. */
  finish(): MappingSample[];
  /** Release what the sampler holds open. */
  close(): void;
}

export const IDLE_BITMAP = "kernel/mm/page_idle/bitmap";

function readVmas(procfs: ProcFs, pid: number): Vma[] {
  return parseMaps(procfs.readText(`${pid}/maps`, pid), procfs.path(pid, "maps"));
}

/** clear_refs 1 at the start of each interval, smaps Referenced at its end. */
export function accessedSampler(procfs: ProcFs, pid: number): WssSampler {
  const reset = (): void => procfs.writeControl(`${pid}/clear_refs`, "1", pid);
  return {
    method: "accessed",
    start: reset,
    finish(): MappingSample[] {
      const smaps = parseSmaps(procfs.readText(`${pid}/smaps`, pid), procfs.path(pid, "smaps"));
      reset();
      const page = (e: (typeof smaps)[number]): number => e.fields["KernelPageSize"] ?? 4096;
      return smaps.map((e) => ({
        vma: e.vma,
        used: Math.round((e.fields["Referenced"] ?? 0) / page(e)),
        resident: Math.round((e.fields["Rss"] ?? 0) / page(e)),
        untracked: 0,
      }));
    },
    close: () => undefined,
  };
}

/** Visit every present or swapped pagemap entry of a process, by mapping. */
function forEachEntry(procfs: ProcFs, pid: number, vmas: readonly Vma[], pageSize: number, fn: (v: number, lo: number, hi: number) => void): void {
  const buf = new PagemapBuffer();
  readPagemap(procfs, pid, vmas, pageSize, buf, (u32, count, _vpn, v) => {
    for (let i = 0; i < count; i++) {
      const hi = u32[2 * i + 1]!;
      if ((hi & (PM_PRESENT_HI | PM_SWAP_HI)) !== 0) fn(v, u32[2 * i]!, hi);
    }
  });
}

/** clear_refs 4 at the start of each interval, pagemap bit 55 at its end. */
export function softDirtySampler(procfs: ProcFs, pid: number, pageSize: number): WssSampler {
  const reset = (): void => procfs.writeControl(`${pid}/clear_refs`, "4", pid);
  return {
    method: "soft-dirty",
    start: reset,
    finish(): MappingSample[] {
      const vmas = readVmas(procfs, pid);
      const used = new Float64Array(vmas.length);
      const resident = new Float64Array(vmas.length);
      forEachEntry(procfs, pid, vmas, pageSize, (v, _lo, hi) => {
        if ((hi & PM_PRESENT_HI) !== 0) resident[v]!++;
        // A swapped page keeps its soft-dirty bit in the swap entry: written, then swapped out.
        if ((hi & PM_SOFT_DIRTY_HI) !== 0) used[v]!++;
      });
      reset();
      return vmas.map((vma, v) => ({ vma, used: used[v]!, resident: resident[v]!, untracked: 0 }));
    },
    close: () => undefined,
  };
}

/**
 * Idle page tracking. Marks go in by word: the bitmap ORs what is written,
 * so a word carries exactly the bits of our pages and leaves others alone.
 */
export function idleSampler(procfs: ProcFs, pid: number, pageSize: number): WssSampler | undefined {
  const bitmap = procfs.openSysU64ReadWrite(IDLE_BITMAP);
  if (bitmap === undefined) return undefined;
  /** PFNs present at the start of the interval, and those that stayed idle right after marking: the pages the kernel tracks. */
  let marked = new Set<number>();
  let tracked = new Set<number>();

  const presentPfns = (): { vmas: Vma[]; pfns: number[]; vmaOf: number[] } => {
    const vmas = readVmas(procfs, pid);
    const pfns: number[] = [];
    const vmaOf: number[] = [];
    forEachEntry(procfs, pid, vmas, pageSize, (v, lo, hi) => {
      if ((hi & PM_PRESENT_HI) === 0) return;
      const pfn = pfnOf(lo, hi);
      if (pfn === 0) return; // PFNs hidden: not root (the bitmap could not have been opened either)
      pfns.push(pfn);
      vmaOf.push(v);
    });
    return { vmas, pfns, vmaOf };
  };

  const mark = (pfns: readonly number[]): void => {
    marked = new Set(pfns);
    tracked = new Set<number>();
    const words = wordsOf(pfns);
    writeBits(bitmap, words);
    const idle = readBits(bitmap, [...words.keys()]);
    for (const pfn of pfns) if (isSet(idle, pfn)) tracked.add(pfn);
  };

  return {
    method: "idle",
    start: () => mark(presentPfns().pfns),
    finish(): MappingSample[] {
      const now = presentPfns();
      const idle = readBits(bitmap, [...wordsOf(now.pfns).keys()]);
      const used = new Float64Array(now.vmas.length);
      const resident = new Float64Array(now.vmas.length);
      const untracked = new Float64Array(now.vmas.length);
      now.pfns.forEach((pfn, i) => {
        const v = now.vmaOf[i]!;
        resident[v]!++;
        if (tracked.has(pfn)) {
          if (!isSet(idle, pfn)) used[v]!++;
        } else if (marked.has(pfn)) {
          untracked[v]!++; // present at the start but never idle: not on an LRU list, so the kernel cannot tell
        } else {
          used[v]!++; // faulted in during the interval (or moved by the kernel, which is rare): an access
        }
      });
      mark(now.pfns);
      return now.vmas.map((vma, v) => ({ vma, used: used[v]!, resident: resident[v]!, untracked: untracked[v]! }));
    },
    close: () => bitmap.close(),
  };
}

/** Bitmap words (index -> bits as two 32-bit halves) holding the given PFNs. */
function wordsOf(pfns: readonly number[]): Map<number, [number, number]> {
  const words = new Map<number, [number, number]>();
  for (const pfn of pfns) {
    const w = Math.floor(pfn / 64);
    const bit = pfn % 64;
    let word = words.get(w);
    if (!word) words.set(w, (word = [0, 0]));
    if (bit < 32) word[0] = (word[0] | (1 << bit)) >>> 0;
    else word[1] = (word[1] | (1 << (bit - 32))) >>> 0;
  }
  return words;
}

/** Write each word with only our bits set, runs of consecutive words in one write. */
function writeBits(file: U64File, words: ReadonlyMap<number, [number, number]>): void {
  const keys = [...words.keys()].sort((a, b) => a - b);
  forRuns(keys, (first, count) => {
    const buf = new Uint32Array(count * 2);
    for (let i = 0; i < count; i++) {
      const word = words.get(first + i)!;
      buf[2 * i] = word[0];
      buf[2 * i + 1] = word[1];
    }
    file.writeWords(first, count, new Uint8Array(buf.buffer));
  });
}

/** Read the given words back: word index -> [lo, hi]. */
function readBits(file: U64File, indexes: readonly number[]): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  const keys = [...indexes].sort((a, b) => a - b);
  forRuns(keys, (first, count) => {
    const bytes = new Uint8Array(count * 8);
    const got = file.readWords(first, count, bytes);
    const u32 = new Uint32Array(bytes.buffer);
    for (let i = 0; i < got; i++) out.set(first + i, [u32[2 * i]!, u32[2 * i + 1]!]);
  });
  return out;
}

function isSet(words: ReadonlyMap<number, [number, number]>, pfn: number): boolean {
  const word = words.get(Math.floor(pfn / 64));
  if (!word) return false;
  const bit = pfn % 64;
  return bit < 32 ? ((word[0] >>> bit) & 1) === 1 : ((word[1] >>> (bit - 32)) & 1) === 1;
}

/** Call fn(first, count) for each run of consecutive numbers in a sorted list, at most 4096 words (32 KiB) a run. */
function forRuns(sorted: readonly number[], fn: (first: number, count: number) => void): void {
  let i = 0;
  while (i < sorted.length) {
    const first = sorted[i]!;
    let count = 1;
    while (i + count < sorted.length && sorted[i + count] === first + count && count < 4096) count++;
    fn(first, count);
    i += count;
  }
}
