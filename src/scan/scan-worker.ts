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
import { KpageTable, PfnSet, readKpagePages } from "./kpage-lookup.js";
import { runPagemapPass, type PagemapOutcome } from "./pagemap-pass.js";
import type { AccountRequest, KpagesRequest, PagemapsRequest } from "./worker-pool.js";
import { accountEntries, RunMemo } from "../accounting/account.js";
import { NF } from "../accounting/usage.js";

const port = parentPort;
if (!port) throw new Error("scan-worker.js must run as a worker thread");

/** The last pagemap pass's store and outcomes: kept here so the accounting of these processes can run here too. */
let kept: { store: EntryStore; outcomes: PagemapOutcome[]; vmaCounts: number[] } | undefined;

port.on("message", (msg: PagemapsRequest | KpagesRequest | AccountRequest) => {
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
      kept = { store, outcomes, vmaCounts: outcomes.map((o) => msg.targets[o.index]!.vmas.length) };
      // The store is copied, not moved: the main thread needs the runs for its lookups and reports,
      // this thread for the accounting of the same processes.
      port.postMessage({ outcomes, store: store.export(), swaps: { slots: swaps.slots, vmas: swaps.vmas } });
    } else if (msg.type === "account") {
      if (!kept) throw new Error("account before pagemaps");
      const set = new PfnSet();
      for (const { index, words } of msg.pages) set.pages[index] = words;
      const table = KpageTable.forSet(set, false);
      table.count.set(msg.count);
      table.flagsLo.set(msg.flagsLo);
      const memo = new RunMemo();
      const deltas = kept.outcomes.map((o, i) => {
        const usage = new Float64Array(Math.max(kept!.vmaCounts[i]!, 1) * NF);
        if (o.status === "ok") accountEntries(kept!.store, o.runs[0], o.runs[1], table, usage, msg.pageSize, memo);
        return { index: o.index, usage };
      });
      kept = undefined;
      port.postMessage({ deltas }, deltas.map((d) => d.usage.buffer));
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
