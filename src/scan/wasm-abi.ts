/**
 * The numbers the WebAssembly modules (wasm/, AssemblyScript) and the
 * JavaScript that drives them (walk-wasm.ts, kpage-index.ts, entry-store.ts)
 * must agree on: buffer sizes, counter and sum positions, run bits. Plain
 * integer constants, so that both compilers read this one file and the two
 * sides cannot drift apart.
 */

/** Pagemap entries per input batch of the walk (512 KiB), and input batches (reads in flight, plus one spare). */
export const WALK_BATCH = 65536;
export const WALK_SLOTS = 5;

/** The walk's counters of one call, by position. */
export const WALK_RUNS = 0;
export const WALK_SWAPS = 1; // swap entries, their slots written out
export const WALK_TRUSTED = 2;
export const WALK_MIGRATION = 3;
export const WALK_GUARD = 4;
export const WALK_UFFD_WP = 5;
export const WALK_SOFT_DIRTY = 6;
export const WALK_HIDDEN = 7;
export const WALK_PAGES = 8;
export const WALK_REFS = 9; // stretches matching a shared object's table (pagemap-walk.ts)
export const WALK_REF_PAGES = 10;
export const WALK_COUNTERS = 11;

/**
 * Compact pagemap bits kept per stored run: pagemap bits 55-61
 * (decode/pagemap-bits.ts) shifted down by 55 (so the walk takes them with
 * one shift and mask), plus our own marks (see entry-store.ts). Written out
 * because asc cannot follow an import from here
 * (test/unit/decode-pagemap.test.ts checks them against pagemap-bits.ts).
 */
export const E_SOFT_DIRTY = 1; // bit 55
export const E_EXCLUSIVE = 2; // bit 56, PM_MMAP_EXCLUSIVE
export const E_UFFD_WP = 4; // bit 57
export const E_SHMEM_VMA = 8;
export const E_FILE = 64; // bit 61, PM_FILE
export const E_HUGE_RUN = 128;
/** Pagemap bits kept, as a mask over (entry >> 55). */
export const E_PAGEMAP_MASK = 71; // E_SOFT_DIRTY | E_EXCLUSIVE | E_UFFD_WP | E_FILE

/**
 * The block of 2^16 page frames (64 Ki PFNs: 256 MiB of 4 KiB pages) by
 * which every PFN-indexed structure is paged: the PFN sets and rank index
 * (kpage-index.ts, kpage-lookup.ts, wasm/kpages.ts), the page-owner index
 * (analysis/page-owners.ts) and the reports that walk them side by side. One
 * name, so that a loop walking two of them block by block uses the same
 * offsets. A block's bitmap is BLOCK_WORDS 32-bit words.
 */
export const PFN_BLOCK_SHIFT = 16;
export const BLOCK_WORDS = (1 << PFN_BLOCK_SHIFT) >> 5;

/** The accounting loop's per-run sums, by position: PSS-like ones (SUM_PSS*, SUM_HUGE_PSS) in 1/4096 byte (the kernel's fixed point, wasm/kpages.ts shareOf), the others in pages. */
export const SUM_RSS = 0;
export const SUM_PSS = 1;
export const SUM_USS = 2;
export const SUM_ANON = 3;
export const SUM_PSS_ANON = 4;
export const SUM_SHMEM = 5;
export const SUM_PSS_SHMEM = 6;
export const SUM_FILE = 7;
export const SUM_PSS_FILE = 8;
export const SUM_KSM = 9;
export const SUM_THP = 10;
export const SUM_ZERO = 11;
export const SUM_UNMANAGED = 12;
export const SUM_HUGE_PRIV = 13;
export const SUM_HUGE_SHARED = 14;
export const SUM_HUGE_PSS = 15;
export const SUMS = 16;
/** The sums kept per shared object's run, as prefix sums (wasm/kpages.ts prefixRuns, scan/kpage-account.ts OBJECT_SUMS): RSS, PSS, USS, SHMEM, PSS_SHMEM, FILE, PSS_FILE, UNMANAGED. */
export const OBJECT_FIELDS = 8;
/** Runs per row of those prefix sums: 4 bytes a run instead of 64, for at most 2 x 15 runs summed again per reference. */
export const OBJECT_STRIDE = 16;

/** What a kpage file's words become in the index. */
export const INTO_COUNT = 0;
export const INTO_FLAGS = 1;
export const INTO_CGROUP = 2;
