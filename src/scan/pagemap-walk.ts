/**
 * The hot loop over pagemap entries just read: a pure function of the
 * entries (no I/O, no BigInt, no object per entry), run as WebAssembly.
 *
 * A 2 MiB-aligned run of 512 physically contiguous pages with identical bits
 * is kept as one record marked E_HUGE_RUN and always looked up: it is most
 * likely PMD-mapped (THP or hugetlb). Since 6.15 a PMD-mapped THP reports the
 * head page's exclusivity for all 512 subpages (fs/proc/task_mmu.c
 * pagemap_pmd_range), and hugetlb pages look exclusive too.
 *
 * Any other present page is settled on the spot, without a kpagecount
 * lookup, only when pagemap alone proves it is a private anonymous page
 * mapped once: PM_MMAP_EXCLUSIVE set, PM_FILE clear, and the caller allows it
 * (the kernel keeps precise per-page mapcounts and KSM is idle). Everything
 * else goes to the run store for a batched kpagecount/kpageflags lookup.
 */
import { NF, U } from "../accounting/usage.js";
import { E_SHMEM_VMA, type EntryStore, type SwapStore } from "./entry-store.js";
import type { RefStore } from "./shared-objects.js";
import { SPARE_SLOT, walkWasm, type WalkWasm } from "./walk-wasm.js";
import { WALK_BATCH, WALK_GUARD, WALK_HIDDEN, WALK_MIGRATION, WALK_PAGES, WALK_REFS, WALK_RUNS, WALK_SOFT_DIRTY, WALK_SWAPS, WALK_TRUSTED, WALK_UFFD_WP } from "./wasm-abi.js";

export interface WalkTarget {
  readonly store: EntryStore;
  readonly swaps: SwapStore;
  /** Where references to shared objects' pages go (shared-objects.ts); needed only when a walk is given a table. */
  readonly refs?: RefStore;
  /** Usage table of the process, one row per VMA. */
  readonly usage: Float64Array;
  /** May an exclusive anonymous entry be settled without a lookup (see above)? */
  readonly trustExclusive: boolean;
  readonly maxSwapfiles: number;
  readonly pageSize: number;
  /** Set when a present entry has PFN 0: the reader lacks CAP_SYS_ADMIN. */
  pfnHidden: boolean;
}

/** Entries in one PMD (2 MiB of 4 KiB pages). */
const PMD_PAGES = 512;

/**
 * Walk `count` entries whose first virtual page number is `firstVpn`, all in
 * the VMA at row `vmaRow` of the target's usage table. Pages that need a
 * lookup are appended to the store as runs (see entry-store.ts); in a shmem
 * mapping (`shmemVma`) page-cache pages are marked E_SHMEM_VMA.
 *
 * With `object`, the VMA maps shared object `object.index` through its
 * table (shared-objects.ts): the first entry's page offset in the object is
 * `object.off`, its table entry at byte `object.at` of the walk's memory;
 * entries matching the table become references in `t.refs`.
 *
 * The loop itself runs in WebAssembly (wasm/pagemap-walk.ts). Entries read
 * straight into its input slots (as the scan does) are walked in place;
 * others are copied in, a batch at a time.
 */
export function walkPagemap(u32: Uint32Array, count: number, firstVpn: number, vmaRow: number, t: WalkTarget, shmemVma = false, object?: { readonly index: number; readonly off: number; readonly at: number }): void {
  const w = walkWasm();
  // Entry i starts a 2 MiB-aligned block iff (i - first) % 512 == 0.
  const first = (PMD_PAGES - (firstVpn % PMD_PAGES)) % PMD_PAGES;
  const inWasm = u32.buffer === w.exports.memory.buffer;
  for (let done = 0; done < count; ) {
    const n = inWasm ? count : Math.min(count - done, WALK_BATCH);
    let slot = SPARE_SLOT;
    let from = 0;
    if (inWasm) {
      const at = (u32.byteOffset - w.inputBase) / 8;
      slot = Math.floor(at / WALK_BATCH);
      from = at % WALK_BATCH;
    } else w.slotWords[SPARE_SLOT]!.set(u32.subarray(2 * done, 2 * (done + n)));
    w.exports.walk(slot, from, n, ((first - done) % PMD_PAGES + PMD_PAGES) % PMD_PAGES, t.trustExclusive ? 1 : 0, shmemVma ? E_SHMEM_VMA : 0, t.maxSwapfiles, object ? object.at + done * 8 : 0);
    collect(w, vmaRow, t);
    if (object) collectRefs(w, vmaRow, t, object.index, object.off + done);
    done += n;
  }
}

/** Move the references one wasm walk found (entry indexes from `off`'s page) into the target's reference store. */
function collectRefs(w: WalkWasm, vmaRow: number, t: WalkTarget, object: number, off: number): void {
  const n = w.stats[WALK_REFS]!;
  if (n === 0) return;
  const refs = t.refs!;
  for (let k = 0; k < n; k++) refs.push(object, off + w.refStart[k]!, w.refLen[k]!, vmaRow);
}

/** Move what one wasm walk found into the target's stores and usage row. */
function collect(w: WalkWasm, vmaRow: number, t: WalkTarget): void {
  const st = w.stats;
  const { store, swaps, usage } = t;
  store.append(w.runPfn, w.runLen, w.runBits, st[WALK_RUNS]!, vmaRow, st[WALK_PAGES]!);
  const swapped = st[WALK_SWAPS]!;
  for (let k = 0; k < swapped; k++) swaps.push(w.swapSlots[k]!, vmaRow);
  if (st[WALK_HIDDEN]! > 0) t.pfnHidden = true;
  const base = vmaRow * NF;
  const ps = t.pageSize;
  const trusted = st[WALK_TRUSTED]!;
  if (trusted > 0) {
    const b = trusted * ps;
    usage[base + U.rss]! += b;
    usage[base + U.pss]! += b;
    usage[base + U.uss]! += b;
    usage[base + U.anon]! += b;
    usage[base + U.pssAnon]! += b;
  }
  usage[base + U.swap]! += swapped * ps;
  usage[base + U.migration]! += st[WALK_MIGRATION]! * ps;
  usage[base + U.guard]! += st[WALK_GUARD]! * ps;
  usage[base + U.uffdWp]! += st[WALK_UFFD_WP]! * ps;
  usage[base + U.softDirty]! += st[WALK_SOFT_DIRTY]! * ps;
}
