/**
 * The scan worker: a second thread that reads page tables and kpage files
 * alongside the main thread. Reading pagemap and kpage* is kernel time spent
 * touching one struct page per entry; two threads on two cores halve it.
 * Messages in: "pagemaps" and "kpages" (see worker-pool.ts); results are
 * typed arrays transferred back without copying.
 */
import { parentPort } from "node:worker_threads";
import { ProcFs } from "../procfs/procfs.js";
import { EntryStore, SwapStore } from "./entry-store.js";
import { PfnSet, readKpagePages } from "./kpage-lookup.js";
import { runPagemapPass } from "./pagemap-pass.js";
import type { KpagesRequest, PagemapsRequest } from "./worker-pool.js";

const port = parentPort;
if (!port) throw new Error("scan-worker.js must run as a worker thread");

port.on("message", (msg: PagemapsRequest | KpagesRequest) => {
  try {
    const procfs = new ProcFs({ root: msg.root, sysRoot: msg.sysRoot ?? null });
    if (msg.type === "pagemaps") {
      const queue = new Int32Array(msg.queue);
      const store = new EntryStore();
      const swaps = new SwapStore();
      const next = (): number => {
        const i = Atomics.add(queue, 0, 1);
        return i < msg.targets.length ? i : -1;
      };
      const t0 = performance.now();
      const outcomes = runPagemapPass(procfs, msg.targets, msg.params, next, store, swaps);
      if (process.env["PAGELENS_TRACE"]) process.stderr.write(`pagelens: trace: worker pagemap pass: ${(performance.now() - t0).toFixed(1)} ms\n`);
      const exported = store.export();
      const transfer = [...exported.chunks.flatMap((c) => [c.pfn.buffer, c.len.buffer, c.vma.buffer, c.bits.buffer]), ...outcomes.map((o) => o.usage.buffer)];
      port.postMessage({ outcomes, store: exported, swaps: { slots: swaps.slots, vmas: swaps.vmas } }, transfer as ArrayBuffer[]);
    } else {
      const set = new PfnSet();
      for (const { index, words } of msg.pages) set.pages[index] = words;
      const res = readKpagePages(procfs, set, msg.pages.map((p) => p.index), { cgroups: msg.cgroups });
      const transfer = res.pages.flatMap((r) => [r.count.buffer, r.flagsLo.buffer, r.flagsHi.buffer, ...(r.cgroup ? [r.cgroup.buffer] : [])]);
      port.postMessage(res, transfer as ArrayBuffer[]);
    }
  } catch (err) {
    port.postMessage({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
});
