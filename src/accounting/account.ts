/**
 * Proportional swap. The rule that classes each resident page (and so RSS,
 * PSS, USS and their split) is accounting/page-class.ts; the loop that
 * applies it to a scan's runs is wasm/kpages.ts, driven by
 * scan/kpage-account.ts. Swap entries need no lookup: they are counted here.
 */
import { pssShareBytes } from "./kernel-pss.js";
import { NF, U } from "./usage.js";

/**
 * Proportional swap: each swap slot's page divided by the number of scanned
 * page-table entries that reference it (procrank's PSwap), truncated to
 * 1/4096 byte as the kernel truncates SwapPss (kernel-pss.ts). The kernel's
 * SwapPss divides by the slot's swap count, which also counts references we
 * cannot see (other processes not scanned, shmem): see docs/numbers.md.
 */
export function countSwapRefs(slots: readonly number[]): Map<number, number> {
  const refs = new Map<number, number>();
  for (const s of slots) refs.set(s, (refs.get(s) ?? 0) + 1);
  return refs;
}

export function accountSwap(slots: readonly number[], vmas: readonly number[], start: number, end: number, refs: ReadonlyMap<number, number>, usage: Float64Array, pageSize: number): void {
  for (let i = start; i < end; i++) {
    const n = refs.get(slots[i]!) ?? 1;
    usage[vmas[i]! * NF + U.swapPss]! += pssShareBytes(pageSize, n);
  }
}
