/**
 * Reads one process's /proc/PID/pagemap for the single-process views (the
 * whole-system scan reads many at once: pagemap-pass.ts), the way the kernel
 * wants it: only over the mapped ranges from maps, 8-byte aligned, in batches of up to 64 Ki entries
 * (512 KiB) aligned to 2 MiB boundaries so that a PMD-sized run never
 * straddles two batches. A short read means the end of the address space;
 * a read of 0 bytes inside a mapping means the process has exited.
 */
import { ProcessGoneError, SyscallError } from "../errors.js";
import { isGone, PagemapScanner, ScanUnsupportedError } from "../native/pagemap-scan.js";
import type { Vma } from "../parse/maps.js";
import type { ProcFs, U64File } from "../procfs/procfs.js";
import { SCAN_MIN_STRETCH } from "./pagemap-pass.js";
import { hasPagemap, PAGEMAP_BATCH, PMD_PAGES } from "./pagemap-spans.js";

/** A reusable read buffer and its 32-bit view (little-endian hosts: lo, hi pairs). */
export class PagemapBuffer {
  readonly bytes = new Uint8Array(PAGEMAP_BATCH * 8);
  readonly u32 = new Uint32Array(this.bytes.buffer);
}

export interface ReadPagemapOptions {
  /** Only pages [startVpn, endVpn). */
  readonly range?: { readonly startVpn: number; readonly endVpn: number };
  /**
   * Leave out holes: in a mapping of at least SCAN_MIN_STRETCH pages, ask
   * the PAGEMAP_SCAN ioctl (Linux 6.7+, live /proc) which parts hold
   * something (present, swapped or a marker, soft-dirty) and read only
   * those, widened to whole 2 MiB blocks. For visitors that skip all-zero
   * entries (which is what a hole reads as), so the result is the same; the
   * cost then follows the pages present, not the address space (V8 reserves
   * over a TiB per renderer). PAGELENS_PAGEMAP_SCAN=off turns it off, as for
   * the scan.
   */
  readonly skipHoles?: boolean;
}

/**
 * Call `visit(u32, count, firstVpn, vmaIndex)` for every batch of entries of
 * the given VMAs (with `skipHoles`, only of the parts that hold something).
 * Throws ProcessGoneError when the process exits meanwhile.
 */
export function readPagemap(
  procfs: ProcFs,
  pid: number | "self",
  vmas: readonly Vma[],
  pageSize: number,
  buf: PagemapBuffer,
  visit: (u32: Uint32Array, count: number, firstVpn: number, vmaIndex: number) => void,
  o: ReadPagemapOptions = {},
): void {
  // A kernel thread or zombie has no mappings, and its pagemap cannot even be opened (ESRCH): nothing to read, not "exited".
  if (!vmas.some(hasPagemap)) return;
  const file = procfs.openU64(`${pid}/pagemap`, typeof pid === "number" ? pid : undefined);
  const gone = (): ProcessGoneError => new ProcessGoneError(typeof pid === "number" ? pid : -1, file.file);
  let narrowing = o.skipHoles === true && procfs.isLive && process.env["PAGELENS_PAGEMAP_SCAN"] !== "off";
  /** Reads [vpn, end) of mapping v; false when a short read says the address space ends there. */
  const read = (v: number, vpn: number, end: number): boolean => {
    while (vpn < end) {
      const batchEnd = Math.min(end, (Math.floor(vpn / PAGEMAP_BATCH) + 1) * PAGEMAP_BATCH);
      const want = batchEnd - vpn;
      const got = file.readWords(vpn, want, buf.bytes);
      if (got === 0) throw gone();
      visit(buf.u32, got, vpn, v);
      if (got < want) return false; // end of the address space: nothing above TASK_SIZE
      vpn = batchEnd;
    }
    return true;
  };
  try {
    for (let v = 0; v < vmas.length; v++) {
      const vma = vmas[v]!;
      if (!hasPagemap(vma)) continue;
      let vpn = Math.floor(vma.start / pageSize);
      let end = Math.floor(vma.end / pageSize);
      if (o.range) {
        vpn = Math.max(vpn, o.range.startVpn);
        end = Math.min(end, o.range.endVpn);
      }
      let parts: number[] | undefined;
      if (narrowing && end - vpn >= SCAN_MIN_STRETCH) {
        try {
          parts = partsHolding(file, vpn, end, pageSize);
        } catch (err) {
          if (isGone(err)) throw gone();
          // No ioctl here (old kernel, no koffi): read everything from now on. Another failure: this mapping whole.
          if (err instanceof ScanUnsupportedError || !(err instanceof SyscallError)) narrowing = false;
        }
      }
      if (parts === undefined) {
        read(v, vpn, end);
        continue;
      }
      let more = true;
      for (let i = 0; i < parts.length && more; i += 2) more = read(v, parts[i]!, parts[i + 1]!);
    }
  } finally {
    file.close();
  }
}

/**
 * The parts of pages [from, end) that hold something (PagemapScanner.parts),
 * widened to whole 2 MiB blocks (so a PMD-mapped run is read whole) and
 * clamped to [from, end), ascending and disjoint.
 */
function partsHolding(file: U64File, from: number, end: number, pageSize: number): number[] {
  const raw = PagemapScanner.shared(pageSize).parts(file.descriptor, from, end, file.file);
  const out: number[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const a = Math.max(from, Math.floor(raw[i]! / PMD_PAGES) * PMD_PAGES);
    const b = Math.min(end, Math.ceil(raw[i + 1]! / PMD_PAGES) * PMD_PAGES);
    if (out.length > 0 && out[out.length - 1]! >= a) out[out.length - 1] = Math.max(out[out.length - 1]!, b);
    else out.push(a, b);
  }
  return out;
}
