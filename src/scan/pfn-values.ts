/**
 * kpagecount, kpageflags (and kpagecgroup) for a list of PFNs, sized by the
 * list rather than by physical memory.
 *
 * kpage-lookup.ts keeps a table of 64 Ki PFNs (1.25 MiB) for every such
 * range that holds a wanted PFN, which suits a whole-machine scan. A file's
 * page-cache pages, though, are scattered over all of RAM: one 64 Ki-page
 * window of a file touched about a hundred such ranges on a 24 GiB machine,
 * i.e. 128 MiB of tables to fill and collect per window. Here the PFNs are
 * sorted, read in runs (through gaps of up to GAP PFNs, as kpage-lookup does)
 * and the values land in arrays as long as the list.
 */
import type { ProcFs } from "../procfs/procfs.js";

/** Read through holes up to this many PFNs instead of starting a new read (as kpage-lookup.ts). */
const GAP = 32;
/** Words per read. */
const MAX_RUN = 64 * 1024;

export interface PfnValues {
  readonly count: Uint32Array;
  readonly flagsLo: Uint32Array;
  readonly flagsHi: Uint32Array;
  /** Memory cgroup inode per PFN; undefined unless asked for. */
  readonly cgroup: Float64Array | undefined;
  /** Whether the PFN was inside the kpage files (false past their end: device memory). */
  readonly found: Uint8Array;
}

/**
 * Values for pfns[0..n) (any order, repeats allowed, 0 = skip). Result
 * arrays are parallel to `pfns`.
 */
export function readPfnValues(procfs: ProcFs, pfns: Float64Array, n: number, options: { cgroups?: boolean } = {}): PfnValues {
  const out: PfnValues = {
    count: new Uint32Array(n),
    flagsLo: new Uint32Array(n),
    flagsHi: new Uint32Array(n),
    cgroup: options.cgroups ? new Float64Array(n) : undefined,
    found: new Uint8Array(n),
  };
  const sorted = Float64Array.from(pfns.subarray(0, n)).sort();
  // Distinct non-zero PFNs, ascending.
  let m = 0;
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    if (p !== 0 && (m === 0 || sorted[m - 1] !== p)) sorted[m++] = p;
  }
  if (m === 0) return out;
  const uniq = sorted.subarray(0, m);
  const count = new Uint32Array(m);
  const lo = new Uint32Array(m);
  const hi = new Uint32Array(m);
  const cg = options.cgroups ? new Float64Array(m) : undefined;
  const got = new Uint8Array(m);

  const countFile = procfs.openU64("kpagecount");
  const flagsFile = procfs.openU64("kpageflags");
  const cgroupFile = options.cgroups ? procfs.openU64("kpagecgroup") : undefined;
  const buf = new Uint8Array(MAX_RUN * 8);
  const u32 = new Uint32Array(buf.buffer);
  try {
    let i = 0;
    while (i < m) {
      // A run of wanted PFNs uniq[i..j) spanning [start, end).
      const start = uniq[i]!;
      let j = i + 1;
      while (j < m && uniq[j]! - uniq[j - 1]! <= GAP && uniq[j]! - start < MAX_RUN) j++;
      const end = uniq[j - 1]! + 1;
      const len = end - start;
      const counted = countFile.readWords(start, len, buf);
      for (let k = i; k < j; k++) {
        const at = uniq[k]! - start;
        if (at >= counted) break;
        count[k] = u32[2 * at]!;
        got[k] = 1;
      }
      const flagged = flagsFile.readWords(start, len, buf);
      for (let k = i; k < j; k++) {
        const at = uniq[k]! - start;
        if (at >= flagged) break;
        lo[k] = u32[2 * at]!;
        hi[k] = u32[2 * at + 1]!;
      }
      if (cgroupFile && cg) {
        const charged = cgroupFile.readWords(start, len, buf);
        // Inode numbers fit a double exactly below 2^53.
        for (let k = i; k < j; k++) {
          const at = uniq[k]! - start;
          if (at >= charged) break;
          cg[k] = u32[2 * at + 1]! * 4294967296 + u32[2 * at]!;
        }
      }
      i = j;
    }
  } finally {
    countFile.close();
    flagsFile.close();
    cgroupFile?.close();
  }
  // Back to the caller's order, by binary search in the distinct list.
  for (let k = 0; k < n; k++) {
    const p = pfns[k]!;
    if (p === 0) continue;
    let a = 0;
    let b = m - 1;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (uniq[mid]! < p) a = mid + 1;
      else b = mid;
    }
    out.count[k] = count[a]!;
    out.flagsLo[k] = lo[a]!;
    out.flagsHi[k] = hi[a]!;
    if (out.cgroup && cg) out.cgroup[k] = cg[a]!;
    out.found[k] = got[a]!;
  }
  return out;
}
