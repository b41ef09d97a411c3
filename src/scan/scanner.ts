/**
 * Repeated scans in one long-running process (a `top`, a `serve`, a
 * monitoring agent): a Scanner keeps what one scan builds and the next can
 * use again, so that a repeated scan pays no start-up and no re-allocation,
 * and the process's memory stays flat scan after scan:
 *  - the kernel's fixed facts (version, config, page size, map count mode,
 *    the PFN probe); swap areas, KSM's counters and the THP mode are read
 *    again every scan (kernel/features.ts refreshKernel);
 *  - the user names (/etc/passwd read once);
 *  - each process's parsed maps, while its maps text is unchanged, and
 *    when it changed the objects of the mappings printed the same; each
 *    process's identity (ProcessInfo) while it is unchanged, else its
 *    strings (collect.ts MapsCache; processes not seen again are
 *    forgotten); with them the pagemap spans worked out from the maps
 *    (pagemap-spans.ts, keyed by the mapping list). What a scan holds on
 *    to survives V8's scavenges during it, and enough survivors make V8
 *    double its young generation: the step a long-running caller sees in
 *    RSS (docs/performance.md section 3);
 *  - the run, reference and swap stores, and the shared objects' runs
 *    (their columns are kept and overwritten);
 *  - the kpage WebAssembly instance and its memory, grown to the largest
 *    scan so far and cleared, not made anew (kpage-index.ts KpageWasm);
 *  - the pagemap walk's WebAssembly instance, the WebAssembly modules and
 *    the PAGEMAP_SCAN buffer, which every scan in the process shares anyway.
 *
 * The price: a Scan returned by `scan()` is plain data (scan-data.ts), but
 * its run chunks and kpage values are the scanner's buffers (the run
 * store's chunks, the kpage WebAssembly memory), which the next
 * `scan()` of the same scanner refills. It is valid until that next call.
 * Build reports from it before scanning again, or keep
 * `scanner.detach(scan)`, a copy that owns every array (about 17 bytes per
 * run and 12 per looked-up page), or use scanSystem() for scans that must
 * outlive the next.
 * Calls are queued: a scan starts when the previous one has finished.
 */
import { beforeRepeatedScan } from "../native/v8-heap.js";
import { ProcFs } from "../procfs/procfs.js";
import type { PasswdSource } from "../procfs/users.js";
import { MapsCache } from "./collect.js";
import { EntryStore, SwapStore } from "./entry-store.js";
import { ObjectStore, RefStore } from "./shared-objects.js";
import { KpageWasm } from "./kpage-index.js";
import { detachScan } from "./scan-data.js";
import { scanSystem, type Scan, type ScanOptions, type ScanState } from "./system-scan.js";

/** Options fixed for a scanner's life (the user names are read once). */
export interface ScannerOptions {
  readonly passwdFile?: PasswdSource;
  /*
   * For callers that scan again and again and want their RSS flat (both off
   * by default: they change the garbage collector of everything in the
   * process, not the scanner's alone; see native/v8-heap.ts). Measured on the
   * bench's repeat case, 100 scans: RSS +20.7% from scan 5 to 100 with
   * neither, +9.1% holding the young generation after 5 scans, +2.9-3.0%
   * with both (docs/performance.md section 3).
   */
  /** After this many scans, stop V8 from growing the young generation (`pagelens serve` and `top` hold it after 5). */
  readonly holdYoungGenerationAfter?: number;
  /** A full garbage collection before each scan but the first, of what the last scan and its reports left: 5-6 ms on a 15 MiB heap. */
  readonly collectBeforeScan?: boolean;
}

export class Scanner {
  private readonly state: ScanState = {
    kernel: undefined,
    users: undefined,
    store: new EntryStore(),
    refs: new RefStore(),
    objects: new ObjectStore(),
    swaps: new SwapStore(),
    kpage: new KpageWasm(),
    maps: new MapsCache(),
  };
  private queue: Promise<unknown> = Promise.resolve();
  private count = 0;

  constructor(
    readonly procfs: ProcFs = new ProcFs(),
    private readonly options: ScannerOptions = {},
  ) {}

  /**
   * Scan as scanSystem() does (same options, same result), reusing this
   * scanner's state. The previous Scan of this scanner is invalid from the
   * moment this one starts.
   */
  scan(options: Omit<ScanOptions, "passwdFile"> = {}): Promise<Scan> {
    const run = this.queue.then(() => {
      this.count++;
      beforeRepeatedScan(this.count, { holdAfter: this.options.holdYoungGenerationAfter, collect: this.options.collectBeforeScan });
      return scanSystem(this.procfs, { ...options, passwdFile: this.options.passwdFile }, this.state);
    });
    // A failed scan must not stop the next one.
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** A copy of a scan of this scanner that the next scan cannot change (see the module comment). */
  detach(scan: Scan): Scan {
    return detachScan(scan);
  }

  /** Scans started so far. */
  get scans(): number {
    return this.count;
  }

  /** Bytes of WebAssembly memory the kpage index holds (grown to the largest scan so far). */
  get kpageBytes(): number {
    return this.state.kpage.bytes;
  }
}
