/**
 * Which stretches of /proc/PID/pagemap to read for a process: the mapped
 * ranges only (never the holes between mappings), with mappings that touch
 * read together (a library is four or five adjacent mappings), cut so that a
 * read never exceeds PAGEMAP_BATCH entries nor straddles a PAGEMAP_BATCH-
 * aligned boundary: a 2 MiB-aligned block of 512 entries, which may be one
 * PMD-mapped huge page, always arrives whole in one buffer.
 *
 * Within a stretch, the caller may narrow the reads to the parts that hold
 * something (`narrow`, fed by the PAGEMAP_SCAN ioctl: src/native/pagemap-scan.ts).
 * Those parts are widened to whole 2 MiB blocks (clipped to the stretch), so
 * a huge page still arrives whole, and parts less than SKIP_MIN pages apart
 * are read as one: a read through a short hole is cheaper than another
 * system call. Entries outside the parts are holes (pte_none), which the
 * walk skips and which end any run, so the walk's output is the same as for
 * the whole stretch.
 */
import type { Vma } from "../parse/maps.js";
import { WALK_BATCH } from "./wasm-abi.js";

/** What a pagemap read needs of a mapping (here, not in pagemap-pass.ts, which reads by these spans: no import cycle). */
export type VmaRange = Pick<Vma, "start" | "end" | "kind">;

/** Entries per read: a multiple of 512 so batches stay PMD-aligned (512 KiB of pagemap); one input slot of the walk. */
export const PAGEMAP_BATCH = WALK_BATCH;

/** Pages per PMD (2 MiB of 4 KiB pages): parts read are widened to whole blocks of this many. */
export const PMD_PAGES = 512;

/**
 * Holes shorter than this many pages between parts are read through. Reading
 * a hole entry costs the kernel ~5 ns (16 TiB in 21 s, measured), one more
 * read on the I/O pool 10-20 us: break-even near 2-4 Ki pages.
 */
export const SKIP_MIN = 4096;

/** One read: `count` entries from virtual page `vpn`, covering mappings `firstVma`..`lastVma` of the list. */
export interface PagemapSpan {
  readonly vpn: number;
  readonly count: number;
  readonly firstVma: number;
  readonly lastVma: number;
}

/** Does pagemap have entries for this mapping? [vsyscall] lies above TASK_SIZE. */
export function hasPagemap(vma: VmaRange): boolean {
  return vma.kind !== "vsyscall" && vma.end > vma.start;
}

/** A stretch of adjacent mappings `first..last`, pages [startVpn, endVpn). */
export interface Stretch {
  readonly first: number;
  readonly last: number;
  readonly startVpn: number;
  readonly endVpn: number;
}

/**
 * Stretches and whole-stretch spans by mapping list. A Scanner hands a
 * process the same read-only list again while its maps text is unchanged
 * (collect.ts MapsCache), so a repeated scan works them out once per
 * process, not once per scan: they were 0.7-1.1 MB of a repeated scan's
 * garbage (docs/performance.md section 3). Keyed by the list itself (weakly:
 * a list dropped by the cache drops its entry); the cached arrays are frozen,
 * since every caller of the list shares them.
 */
const memo = new WeakMap<readonly VmaRange[], { readonly pageSize: number; readonly stretches: Stretch[]; spans?: PagemapSpan[] }>();

function memoOf(vmas: readonly VmaRange[], pageSize: number): { readonly pageSize: number; readonly stretches: Stretch[]; spans?: PagemapSpan[] } {
  let m = memo.get(vmas);
  if (m === undefined || m.pageSize !== pageSize) {
    m = { pageSize, stretches: Object.freeze(computeStretches(vmas, pageSize)) as Stretch[] };
    memo.set(vmas, m);
  }
  return m;
}

/** The stretches of mappings that touch, in address order (shared and frozen: see memo). */
export function stretchesOf(vmas: readonly VmaRange[], pageSize: number): Stretch[] {
  return memoOf(vmas, pageSize).stretches;
}

function computeStretches(vmas: readonly VmaRange[], pageSize: number): Stretch[] {
  const out: Stretch[] = [];
  let v = 0;
  while (v < vmas.length) {
    if (!hasPagemap(vmas[v]!)) {
      v++;
      continue;
    }
    let last = v;
    while (last + 1 < vmas.length && hasPagemap(vmas[last + 1]!) && vmas[last + 1]!.start === vmas[last]!.end) last++;
    out.push({ first: v, last, startVpn: Math.floor(vmas[v]!.start / pageSize), endVpn: Math.floor(vmas[last]!.end / pageSize) });
    v = last + 1;
  }
  return out;
}

/**
 * Parts of a stretch to read: sorted, disjoint [start, end) page ranges
 * inside it, as a flat list [start0, end0, start1, end1, ...]; undefined
 * reads the whole stretch.
 */
export type Narrowing = (s: Stretch, index: number) => readonly number[] | undefined;

/** The spans to read; without `narrow`, the whole stretches' spans, shared and frozen (see memo). */
export function pagemapSpans(vmas: readonly VmaRange[], pageSize: number, narrow?: Narrowing): PagemapSpan[] {
  if (narrow === undefined) {
    const m = memoOf(vmas, pageSize);
    m.spans ??= Object.freeze(spansOf(vmas, pageSize)) as PagemapSpan[];
    return m.spans;
  }
  return spansOf(vmas, pageSize, narrow);
}

function spansOf(vmas: readonly VmaRange[], pageSize: number, narrow?: Narrowing): PagemapSpan[] {
  const spans: PagemapSpan[] = [];
  stretchesOf(vmas, pageSize).forEach((s, k) => {
    const parts = narrow?.(s, k);
    if (parts === undefined) {
      cut(vmas, pageSize, s, s.first, s.startVpn, s.endVpn, spans);
      return;
    }
    let first = s.first;
    let i = 0;
    while (i < parts.length) {
      // Widen to whole 2 MiB blocks, then take in every part that starts within SKIP_MIN of the end so far.
      const from = Math.max(s.startVpn, Math.floor(parts[i]! / PMD_PAGES) * PMD_PAGES);
      let to = Math.min(s.endVpn, Math.ceil(parts[i + 1]! / PMD_PAGES) * PMD_PAGES);
      i += 2;
      while (i < parts.length && Math.floor(parts[i]! / PMD_PAGES) * PMD_PAGES - to < SKIP_MIN) {
        to = Math.max(to, Math.min(s.endVpn, Math.ceil(parts[i + 1]! / PMD_PAGES) * PMD_PAGES));
        i += 2;
      }
      if (to > from) first = cut(vmas, pageSize, s, first, from, to, spans);
    }
  });
  return spans;
}

/** Spans for pages [from, to) of stretch `s`, cut at batch boundaries; `first` is a mapping at or before `from`. Returns the mapping holding page to - 1. */
function cut(vmas: readonly VmaRange[], pageSize: number, s: Stretch, firstVma: number, from: number, to: number, spans: PagemapSpan[]): number {
  let vpn = from;
  let first = firstVma;
  while (vpn < to) {
    const batchEnd = Math.min(to, (Math.floor(vpn / PAGEMAP_BATCH) + 1) * PAGEMAP_BATCH);
    while (Math.floor(vmas[first]!.end / pageSize) <= vpn) first++;
    let last = first;
    while (last < s.last && Math.floor(vmas[last]!.end / pageSize) < batchEnd) last++;
    spans.push({ vpn, count: batchEnd - vpn, firstVma: first, lastVma: last });
    vpn = batchEnd;
    first = last;
  }
  return first;
}
