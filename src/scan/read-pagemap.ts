/**
 * Reads one process's /proc/PID/pagemap for the single-process views (the
 * whole-system scan reads many at once: pagemap-pass.ts), the way the kernel
 * wants it: only over the mapped ranges from maps, 8-byte aligned, in batches of up to 64 Ki entries
 * (512 KiB) aligned to 2 MiB boundaries so that a PMD-sized run never
 * straddles two batches. A short read means the end of the address space;
 * a read of 0 bytes inside a mapping means the process has exited.
 */
import { ProcessGoneError } from "../errors.js";
import type { Vma } from "../parse/maps.js";
import type { ProcFs } from "../procfs/procfs.js";
import { hasPagemap, PAGEMAP_BATCH } from "./pagemap-spans.js";

/** A reusable read buffer and its 32-bit view (little-endian hosts: lo, hi pairs). */
export class PagemapBuffer {
  readonly bytes = new Uint8Array(PAGEMAP_BATCH * 8);
  readonly u32 = new Uint32Array(this.bytes.buffer);
}

/**
 * Call `visit(u32, count, firstVpn, vmaIndex)` for every batch of entries of
 * the given VMAs. Throws ProcessGoneError when the process exits meanwhile.
 */
export function readPagemap(
  procfs: ProcFs,
  pid: number | "self",
  vmas: readonly Vma[],
  pageSize: number,
  buf: PagemapBuffer,
  visit: (u32: Uint32Array, count: number, firstVpn: number, vmaIndex: number) => void,
  range?: { startVpn: number; endVpn: number },
): void {
  // A kernel thread or zombie has no mappings, and its pagemap cannot even be opened (ESRCH): nothing to read, not "exited".
  if (!vmas.some(hasPagemap)) return;
  const file = procfs.openU64(`${pid}/pagemap`, typeof pid === "number" ? pid : undefined);
  try {
    for (let v = 0; v < vmas.length; v++) {
      const vma = vmas[v]!;
      if (!hasPagemap(vma)) continue;
      let vpn = Math.floor(vma.start / pageSize);
      let end = Math.floor(vma.end / pageSize);
      if (range) {
        vpn = Math.max(vpn, range.startVpn);
        end = Math.min(end, range.endVpn);
      }
      while (vpn < end) {
        const batchEnd = Math.min(end, (Math.floor(vpn / PAGEMAP_BATCH) + 1) * PAGEMAP_BATCH);
        const want = batchEnd - vpn;
        const got = file.readWords(vpn, want, buf.bytes);
        if (got === 0) throw new ProcessGoneError(typeof pid === "number" ? pid : -1, file.file);
        visit(buf.u32, got, vpn, v);
        if (got < want) break; // end of the address space: nothing above TASK_SIZE
        vpn = batchEnd;
      }
    }
  } finally {
    file.close();
  }
}
