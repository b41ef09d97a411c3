/**
 * The page-table pass: read the pagemap of each target process and walk it
 * into a run store, a swap store and per-VMA usage rows.
 *
 * Reading pagemap is kernel time (one struct page looked at per entry) and
 * dominates a scan. The reads run on libuv's pool threads, several at once
 * and ahead of the walk: while this thread decodes one buffer, the kernel
 * fills the next ones on the other cores. Results are walked strictly in
 * order (process by process, address by address), so each process's records
 * stay contiguous in the store and a process that vanishes midway is rolled
 * back cleanly.
 */
import { NF } from "../accounting/usage.js";
import { PagelensError, PermissionError, ProcessGoneError } from "../errors.js";
import type { Vma } from "../parse/maps.js";
import type { ProcFs, U64File } from "../procfs/procfs.js";
import type { EntryStore, SwapStore } from "./entry-store.js";
import { SyscallError } from "../native/libc.js";
import { isGone, PagemapScanner, ScanUnsupportedError } from "../native/pagemap-scan.js";
import { pagemapSpans, stretchesOf, type PagemapSpan, type Stretch, type VmaRange } from "./pagemap-spans.js";
import { walkPagemap, type WalkTarget } from "./pagemap-walk.js";
import type { ScanObjects } from "./scan-data.js";
import { noObjects, ObjectStore, planObjects, RefStore, type ObjectPlan } from "./shared-objects.js";
import { walkWasmWithTables, type WalkWasm } from "./walk-wasm.js";

export interface PagemapParams {
  readonly pageSize: number;
  readonly maxSwapfiles: number;
  readonly trustExclusive: boolean;
  /**
   * Narrow pagemap reads with the PAGEMAP_SCAN ioctl (see narrowing below):
   * "auto" where a stretch of mappings is large and mostly empty, "always"
   * on every stretch (tests), "off" never. Default "off".
   */
  readonly pagemapScan?: PagemapScanMode;
  /** Regions asked of one PAGEMAP_SCAN call (default and most SCAN_REGIONS); tests make it small to force resumption from walk_end. */
  readonly scanCapacity?: number;
  /**
   * Keep the pages of objects several mappings map once, by page offset,
   * with references from each process (shared-objects.ts). Default false:
   * every page is a run of its process.
   */
  readonly sharedObjects?: boolean;
}

export type PagemapScanMode = "auto" | "always" | "off";

/** What the pass read, for traces and tests. */
export interface PassStats {
  /** Pagemap entries read (8 bytes each). */
  entriesRead: number;
  /** Pagemap entries of the mapped ranges (what reading every mapping would read). */
  entriesMapped: number;
  /** PAGEMAP_SCAN calls and the regions they returned. */
  scanCalls: number;
  scanRegions: number;
  /** Why PAGEMAP_SCAN was not used, when it was wanted and could not be. */
  scanUnavailable?: string;
}

/** What the pass needs of a mapping: where it is, what kind, and which object at which offset (for shared-objects.ts). */
export type PassVma = VmaRange & Pick<Vma, "offset" | "dev" | "inode">;

export interface PagemapTarget {
  readonly pid: number;
  readonly vmas: readonly PassVma[];
  /** Resident plus swapped pages as /proc/PID/status counts them (VmRSS + VmSwap), when known: how full its mappings can be. */
  readonly residentPages?: number;
  /** Settle exclusive anonymous pages without a lookup for this process (default: params.trustExclusive). */
  readonly trustExclusive?: boolean;
}

export interface PagemapOutcome {
  /** Index of the target in the list. */
  readonly index: number;
  /** ok; hidden: PFNs read as zero (no CAP_SYS_ADMIN); gone: exited; denied: EACCES; failed: another read error. */
  readonly status: "ok" | "hidden" | "gone" | "denied" | "failed";
  readonly reason?: string;
  readonly usage: Float64Array;
  /** Records [start, end) in the run store, in the reference store, and in the swap store. */
  readonly runs: readonly [number, number];
  readonly refs: readonly [number, number];
  readonly swaps: readonly [number, number];
}

/** What a pass gives: an outcome per target (in target order) and the shared objects' pages its references point into. */
export interface PassResult {
  readonly outcomes: PagemapOutcome[];
  readonly objects: ScanObjects;
}

/**
 * Reads in flight at once. Two keep two cores busy in the kernel; a few more
 * cover the time this thread needs to hand each finished read back.
 */
const IN_FLIGHT = 4; // at most WALK_SLOTS - 1: the last slot is the walk's own

/**
 * Spans of at most this many entries are read on this thread, synchronously:
 * a read on the pool costs 10-20 us of CPU (the request, two thread wake-ups,
 * the promise), a pread here ~1.5 us plus the kernel's ~5-25 ns an entry. Most
 * spans are that short (a library's mappings, a thread stack: on this VM 1326
 * of 1458 spans, 115 entries on average), and a machine of many small
 * processes is almost only such spans. Longer ones still go to the pool,
 * where their kernel time overlaps the walk.
 */
const SYNC_ENTRIES = 1024;

/** A target being read: its open pagemap, its reads, and where its records start. */
interface Reading {
  readonly index: number;
  readonly file: U64File;
  readonly spans: PagemapSpan[];
  readonly walk: WalkTarget;
  /**
   * Where its records start in the stores: taken when its first read is
   * walked, since reads are opened ahead while the previous process is still
   * being walked.
   */
  runStart: number;
  refStart: number;
  swapStart: number;
  /** Reads submitted and not yet walked. */
  pending: number;
  /** Spans submitted so far. */
  submitted: number;
  /** Set once the process is known gone or unreadable: later reads are dropped. */
  failed: PagemapOutcome | undefined;
  /** First virtual page past the end of the address space, once a short read has shown it. */
  endVpn: number;
  closed: boolean;
}

interface Job {
  readonly reading: Reading;
  readonly span: PagemapSpan;
  readonly slot: number;
  readonly done: Promise<number | PagelensError>;
}

function failure(err: unknown): { status: PagemapOutcome["status"]; reason?: string } {
  if (err instanceof ProcessGoneError) return { status: "gone" };
  if (err instanceof PermissionError) return { status: "denied", reason: err.message };
  if (err instanceof PagelensError) return { status: "failed", reason: err.message };
  throw err;
}

/**
 * Passes in one process take turns: their reads land in the walk's
 * WebAssembly input slots, of which there is one set.
 */
let passTurn: Promise<void> = Promise.resolve();

/** Read and walk every target's pagemap; outcomes in target order. `refs` and `objectStore` are emptied and filled (new ones when not given). */
export async function runPagemapPass(
  procfs: ProcFs,
  targets: readonly PagemapTarget[],
  params: PagemapParams,
  store: EntryStore,
  swaps: SwapStore,
  onProgress?: (done: number, total: number) => void,
  stats?: PassStats,
  refs: RefStore = new RefStore(),
  objectStore: ObjectStore = new ObjectStore(),
): Promise<PassResult> {
  const before = passTurn;
  let done!: () => void;
  passTurn = new Promise((resolve) => (done = resolve));
  await before;
  try {
    refs.reset();
    return await pass(procfs, targets, params, store, swaps, refs, objectStore, onProgress, stats ?? newPassStats());
  } finally {
    done();
  }
}

async function pass(
  procfs: ProcFs,
  targets: readonly PagemapTarget[],
  params: PagemapParams,
  store: EntryStore,
  swaps: SwapStore,
  refs: RefStore,
  objectStore: ObjectStore,
  onProgress: ((done: number, total: number) => void) | undefined,
  stats: PassStats,
): Promise<PassResult> {
  const out: PagemapOutcome[] = [];
  const narrowing = new Narrower(procfs, params, stats);
  const plan = params.sharedObjects === true ? planObjects(targets, params.pageSize) : noObjects(targets);
  // Pagemap is read straight into the walk's WebAssembly input slots; the objects' tables follow them.
  const wasm = walkWasmWithTables(plan.entries);
  new Uint8Array(wasm.exports.memory.buffer, wasm.tablesAt, plan.entries * 8).fill(0);
  const buffers = wasm.slots.slice(0, IN_FLIGHT);
  const views = wasm.slotWords.slice(0, IN_FLIGHT);
  const jobs: Job[] = [];
  let nextTarget = 0;
  let current: Reading | undefined;
  let finished = 0;

  const close = (r: Reading): void => {
    if (!r.closed && r.pending === 0) {
      r.closed = true;
      r.file.close();
    }
  };
  const settle = (r: Reading, outcome: PagemapOutcome): void => {
    out.push(outcome);
    onProgress?.(++finished, targets.length);
    close(r);
  };
  const fail = (r: Reading, err: unknown): void => {
    if (!r.failed) rollback(r, failure(err));
  };
  /** Drop what was stored for a process whose numbers cannot be had. */
  const rollback = (r: Reading, { status, reason }: { status: PagemapOutcome["status"]; reason?: string }): PagemapOutcome => {
    store.truncate(r.runStart);
    refs.truncate(r.refStart);
    swaps.truncate(r.swapStart);
    r.failed = { index: r.index, status, reason, usage: r.walk.usage, runs: [r.runStart, r.runStart], refs: [r.refStart, r.refStart], swaps: [r.swapStart, r.swapStart] };
    return r.failed;
  };
  /** The next target with something to read, opened; outcomes of those that cannot be opened recorded on the way. */
  const open = (): Reading | undefined => {
    while (nextTarget < targets.length) {
      const index = nextTarget++;
      const { pid, vmas } = targets[index]!;
      const walk: WalkTarget = {
        store,
        swaps,
        refs,
        usage: new Float64Array(Math.max(vmas.length, 1) * NF),
        trustExclusive: targets[index]!.trustExclusive ?? params.trustExclusive,
        maxSwapfiles: params.maxSwapfiles,
        pageSize: params.pageSize,
        pfnHidden: false,
      };
      const runs: [number, number] = [store.length, store.length];
      const rf: [number, number] = [refs.length, refs.length];
      const sw: [number, number] = [swaps.length, swaps.length];
      let file: U64File;
      try {
        file = procfs.openU64(`${pid}/pagemap`, pid);
      } catch (err) {
        out.push({ index, ...failure(err), usage: walk.usage, runs, refs: rf, swaps: sw });
        onProgress?.(++finished, targets.length);
        continue;
      }
      let spans: PagemapSpan[];
      try {
        spans = narrowing.spans(targets[index]!, file);
      } catch (err) {
        file.close();
        out.push({ index, ...failure(err), usage: walk.usage, runs, refs: rf, swaps: sw });
        onProgress?.(++finished, targets.length);
        continue;
      }
      for (const sp of spans) stats.entriesRead += sp.count;
      const r: Reading = { index, file, spans, walk, runStart: -1, refStart: -1, swapStart: -1, pending: 0, submitted: 0, failed: undefined, endVpn: Infinity, closed: false };
      if (spans.length === 0) {
        settle(r, { index, status: "ok", usage: walk.usage, runs, refs: rf, swaps: sw });
        continue;
      }
      return r;
    }
    return undefined;
  };
  /** Submit reads until IN_FLIGHT are pending; buffers are reused in turn. */
  const fill = (): void => {
    while (jobs.length < IN_FLIGHT) {
      if (!current || current.submitted === current.spans.length || current.failed) current = open();
      if (!current) return;
      const reading = current;
      const span = reading.spans[reading.submitted++]!;
      const slot = jobs.length === 0 ? 0 : (jobs[jobs.length - 1]!.slot + 1) % IN_FLIGHT;
      reading.pending++;
      let done: Promise<number | PagelensError>;
      if (span.count <= SYNC_ENTRIES) {
        // A short read costs less here than the pool's hand-over (see SYNC_ENTRIES); the job is walked in turn all the same.
        let got: number | PagelensError;
        try {
          got = reading.file.readWords(span.vpn, span.count, buffers[slot]!);
        } catch (err) {
          if (!(err instanceof PagelensError)) throw err;
          got = err;
        }
        done = Promise.resolve(got);
      } else
        done = reading.file.readWordsAsync(span.vpn, span.count, buffers[slot]!).catch((err: unknown) => {
          if (err instanceof PagelensError) return err;
          throw err;
        });
      jobs.push({ reading, span, slot, done });
    }
  };

  fill();
  while (jobs.length > 0) {
    const job = jobs[0]!;
    const got = await job.done;
    jobs.shift();
    const r = job.reading;
    r.pending--;
    if (r.runStart < 0) {
      r.runStart = store.length;
      r.refStart = refs.length;
      r.swapStart = swaps.length;
    }
    if (!r.failed) {
      const { span } = job;
      if (got instanceof PagelensError) fail(r, got);
      else if (got === 0 && span.vpn < r.endVpn) fail(r, new ProcessGoneError(targets[r.index]!.pid, r.file.file));
      else {
        if (got < span.count) r.endVpn = Math.min(r.endVpn, span.vpn + got);
        walkSpan(views[job.slot]!, got, span, targets[r.index]!.vmas, params.pageSize, r.walk, plan, r.index, wasm);
      }
    }
    const last = r.submitted === r.spans.length || r.failed !== undefined;
    if (last && r.pending === 0) {
      if (r.failed) settle(r, r.failed);
      else if (r.walk.pfnHidden) settle(r, rollback(r, { status: "hidden" }));
      else settle(r, { index: r.index, status: "ok", usage: r.walk.usage, runs: [r.runStart, store.length], refs: [r.refStart, refs.length], swaps: [r.swapStart, swaps.length] });
    }
    // Refill now that the slot just walked is free again; the other reads went on meanwhile.
    fill();
  }
  // Each table's filled entries are its object's pages: the runs the references point into.
  const objects = objectStore.fill(plan, new Uint32Array(wasm.exports.memory.buffer, wasm.tablesAt, plan.entries * 2));
  return { outcomes: out.sort((a, b) => a.index - b.index), objects };
}

/** Walk the `got` entries read for `span`, mapping by mapping; a mapping of a shared object with a table is walked against it. */
function walkSpan(u32: Uint32Array, got: number, span: PagemapSpan, vmas: readonly PassVma[], pageSize: number, walk: WalkTarget, plan: ObjectPlan, target: number, wasm: WalkWasm): void {
  const spanEnd = span.vpn + got;
  const objectOf = plan.vmaObject[target]!;
  for (let v = span.firstVma; v <= span.lastVma; v++) {
    const vma = vmas[v]!;
    const startVpn = Math.floor(vma.start / pageSize);
    const from = Math.max(span.vpn, startVpn);
    const to = Math.min(spanEnd, Math.floor(vma.end / pageSize));
    if (to <= from) continue;
    const o = from - span.vpn;
    const obj = objectOf[v]!;
    let object: { index: number; off: number; at: number } | undefined;
    if (obj >= 0) {
      // The page offset in the object of entry `from`, and its entry in the object's table.
      const off = Math.floor(vma.offset / pageSize) + (from - startVpn);
      object = { index: obj, off, at: wasm.tablesAt + (plan.base[obj]! + off - plan.firstOff[obj]!) * 8 };
    }
    walkPagemap(o === 0 ? u32 : u32.subarray(2 * o), to - from, from, v, walk, vma.kind === "shmem", object);
  }
}

export function newPassStats(): PassStats {
  return { entriesRead: 0, entriesMapped: 0, scanCalls: 0, scanRegions: 0 };
}

/**
 * A process is worth PAGEMAP_SCAN calls when its mappings hold at least this
 * many pages (1 GiB of 4 KiB pages) more than it has resident or swapped,
 * and are more than twice as large as those: then at least that many
 * entries are holes, which cost the kernel ~5 ns each to read as zeros
 * (16 TiB in 21 s, measured) and next to nothing to skip, against ~7 ns per
 * present page for the scan itself (docs/performance.md). Dense processes,
 * almost all of them, are read as before, without a call.
 */
export const SCAN_MIN_HOLES = 1 << 18;
/** In such a process, stretches at least this long (16 MiB) are scanned; shorter ones are read whole (one call costs ~5-20 us). */
export const SCAN_MIN_STRETCH = 1 << 12;

/**
 * Where the PAGEMAP_SCAN ioctl narrows a process's reads: in "auto" mode, in
 * the stretches of at least SCAN_MIN_STRETCH pages of a sparse process (see
 * SCAN_MIN_HOLES); in "always" mode, in every stretch. Whatever the choice,
 * the numbers are the same: only entries that are holes are left unread.
 */
class Narrower {
  private scanner: PagemapScanner | undefined;
  private mode: PagemapScanMode;

  constructor(
    procfs: ProcFs,
    private readonly params: PagemapParams,
    private readonly stats: PassStats,
  ) {
    this.mode = params.pagemapScan ?? "off";
    if (this.mode !== "off" && !procfs.isLive) {
      // A fixture or snapshot tree's pagemap is a plain file: no ioctl to ask.
      this.mode = "off";
      stats.scanUnavailable = "not a live /proc";
    }
  }

  /** The spans to read for one target; throws ProcessGoneError when the scan finds it gone. */
  spans(t: PagemapTarget, file: U64File): PagemapSpan[] {
    const { pageSize } = this.params;
    let mapped = 0;
    for (const s of stretchesOf(t.vmas, pageSize)) mapped += s.endVpn - s.startVpn;
    this.stats.entriesMapped += mapped;
    const resident = t.residentPages ?? 0;
    const sparse = this.mode === "always" || (this.mode === "auto" && mapped - resident >= SCAN_MIN_HOLES && mapped > 2 * resident);
    if (!sparse) return pagemapSpans(t.vmas, pageSize);
    return pagemapSpans(t.vmas, pageSize, (s: Stretch) => {
      if (this.mode === "off" || (this.mode === "auto" && s.endVpn - s.startVpn < SCAN_MIN_STRETCH)) return undefined;
      return this.scan(file, t.pid, s);
    });
  }

  /** The parts of stretch `s` holding something, or undefined to read all of it. */
  private scan(file: U64File, pid: number, s: Stretch): number[] | undefined {
    if (!this.scanner) {
      try {
        this.scanner = PagemapScanner.shared(this.params.pageSize, this.params.scanCapacity);
      } catch (err) {
        if (!(err instanceof ScanUnsupportedError)) throw err;
        return this.unsupported(err.reason);
      }
    }
    const sc = this.scanner;
    const calls = sc.calls;
    const regions = sc.regions;
    try {
      return sc.parts(file.descriptor, s.startVpn, s.endVpn, file.file);
    } catch (err) {
      if (err instanceof ScanUnsupportedError) return this.unsupported(err.reason);
      if (isGone(err)) throw new ProcessGoneError(pid, file.file);
      // Not a system call's answer (the FFI itself failed): no more calls in this pass.
      if (!(err instanceof SyscallError)) return this.unsupported(`PAGEMAP_SCAN failed: ${err instanceof Error ? err.message : String(err)}`);
      // Another failure (ENOMEM, EFAULT): read this stretch whole, as without the ioctl.
      return undefined;
    } finally {
      this.stats.scanCalls += sc.calls - calls;
      this.stats.scanRegions += sc.regions - regions;
    }
  }

  private unsupported(reason: string): undefined {
    this.mode = "off";
    this.stats.scanUnavailable = reason;
    return undefined;
  }
}
