/**
 * The main thread's side of the scan worker (scan-worker.ts): start it early
 * so its start-up overlaps process discovery, hand it work, await results.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { ProcReadError } from "../errors.js";
import { EntryStore, SwapStore, type RunColumns } from "./entry-store.js";
import type { LookupStats, PageValues } from "./kpage-lookup.js";
import type { PagemapOutcome, PagemapParams, PagemapTarget } from "./pagemap-pass.js";

export interface PagemapsRequest {
  readonly type: "pagemaps";
  readonly root: string;
  readonly sysRoot: string | undefined;
  readonly params: PagemapParams;
  readonly targets: readonly PagemapTarget[];
  /** Int32 [next target index], shared with the main thread. */
  readonly queue: SharedArrayBuffer;
}

export interface KpagesRequest {
  readonly type: "kpages";
  readonly root: string;
  readonly sysRoot: string | undefined;
  readonly pages: readonly { index: number; words: Uint32Array }[];
  readonly cgroups: boolean;
}

/** Account the worker's own processes (from its last pagemap pass) against the looked-up values. */
export interface AccountRequest {
  readonly type: "account";
  readonly root: string;
  readonly sysRoot: string | undefined;
  readonly pageSize: number;
  /** The PFN set's bitmap pages and the values by rank (kpagecount, kpageflags bits 0-31). */
  readonly pages: readonly { index: number; words: Uint32Array }[];
  readonly count: Uint32Array;
  readonly flagsLo: Uint32Array;
}

export interface PagemapsReply {
  readonly outcomes: PagemapOutcome[];
  readonly store: EntryStore;
  readonly swaps: SwapStore;
}

/**
 * Is a second thread worth having here? Only with four or more CPUs: each
 * isolate also needs CPU for V8's compiler and garbage-collector threads, and
 * on a 2-CPU machine two busy isolates starve them. Measured on the 2-vCPU
 * test VM with the 8 x 512 MiB + 1 GiB workload: 0.82-0.93 s on one thread,
 * 0.94-1.09 s on two (PAGELENS_THREADS=1 / =2 force either).
 */
export function workerUseful(): boolean {
  return availableParallelism() >= 4;
}

/** The worker script beside this module: scan-worker.js in dist/src/scan, scan-worker.mjs beside the bundled CLI. */
function workerScript(): URL {
  const plain = new URL("./scan-worker.js", import.meta.url);
  return existsSync(fileURLToPath(plain)) ? plain : new URL("./scan-worker.mjs", import.meta.url);
}

export class ScanWorker {
  private readonly worker = new Worker(workerScript());
  private pending: ((msg: unknown) => void) | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly root: string,
    private readonly sysRoot: string | undefined,
  ) {
    this.worker.on("message", (msg: unknown) => {
      this.worker.unref();
      const p = this.pending;
      this.pending = undefined;
      p?.(msg);
    });
    this.worker.on("error", (err) => {
      this.failure = err;
      const p = this.pending;
      this.pending = undefined;
      p?.({ error: err.message });
    });
    this.worker.unref();
  }

  private request<T>(msg: PagemapsRequest | KpagesRequest | AccountRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(new ProcReadError("scan worker", this.failure.message));
    return new Promise<T>((resolve, reject) => {
      this.pending = (reply) => {
        const r = reply as { error?: string };
        if (r.error !== undefined) reject(new ProcReadError("scan worker", r.error));
        else resolve(reply as T);
      };
      // Keep the event loop alive only while a reply is awaited: an idle worker must not hold the process open.
      this.worker.ref();
      this.worker.postMessage(msg, transfer);
    });
  }

  /** Start reading pagemaps; the worker pulls target indexes from `queue` like the main thread. */
  pagemaps(targets: readonly PagemapTarget[], params: PagemapParams, queue: SharedArrayBuffer): Promise<PagemapsReply> {
    return this.request<{ outcomes: PagemapOutcome[]; store: { chunks: RunColumns[]; n: number; pages: number }; swaps: { slots: number[]; vmas: number[] } }>({
      type: "pagemaps",
      root: this.root,
      sysRoot: this.sysRoot,
      params,
      targets,
      queue,
    }).then((r) => {
      const swaps = new SwapStore();
      swaps.slots = r.swaps.slots;
      swaps.vmas = r.swaps.vmas;
      return { outcomes: r.outcomes, store: EntryStore.from(r.store), swaps };
    });
  }

  /** Read kpage files for these pages of the PFN set. */
  kpages(pages: readonly { index: number; words: Uint32Array }[], cgroups: boolean): Promise<{ pages: PageValues[]; stats: LookupStats; beyondEnd: number }> {
    return this.request({ type: "kpages", root: this.root, sysRoot: this.sysRoot, pages, cgroups });
  }

  /**
   * Account the processes of the worker's pagemap pass: returns, per target
   * index, the usage to add for their looked-up runs.
   */
  account(pages: readonly { index: number; words: Uint32Array }[], count: Uint32Array, flagsLo: Uint32Array, pageSize: number): Promise<{ deltas: { index: number; usage: Float64Array }[] }> {
    return this.request({ type: "account", root: this.root, sysRoot: this.sysRoot, pageSize, pages, count, flagsLo });
  }

  close(): void {
    void this.worker.terminate();
  }
}
