/**
 * One process, mapping by mapping (`pagelens maps PID`), like procmem,
 * showmap and `pmap -X`. Page-level numbers come from the scan; the clean /
 * dirty split and VmFlags come from the kernel's smaps, because the PTE
 * dirty bit is not visible from user space.
 */
import { USAGE_FIELDS, usageFromSmaps, usageRow, zeroUsage, type MemUsage } from "../accounting/usage.js";
import type { SmapsEntry } from "../parse/smaps.js";
import type { VmaKind } from "../parse/maps.js";
import { commandOf } from "../scan/process-info.js";
import type { Scan, ScannedProcess } from "../scan/scan-data.js";
import { SCHEMA_VERSION } from "./scan-header.js";

export interface KernelDirty {
  readonly privateClean: number;
  readonly privateDirty: number;
  readonly sharedClean: number;
  readonly sharedDirty: number;
}

export interface MappingRow extends MemUsage {
  readonly start: string;
  readonly end: string;
  readonly perms: string;
  readonly offset: number;
  readonly dev: string;
  readonly inode: number;
  readonly name: string;
  readonly kind: VmaKind;
  readonly size: number;
  /** The kernel's clean/dirty split for this mapping (smaps), null when smaps could not be read. */
  readonly kernel: KernelDirty | null;
  readonly vmFlags: readonly string[] | null;
}

export interface MapsReport {
  readonly schemaVersion: number;
  readonly takenAt: string;
  readonly pid: number;
  readonly command: string;
  readonly user: string;
  readonly source: ScannedProcess["source"];
  /** "ok", or "no-mm" for a kernel thread or zombie (no user memory, no mappings). */
  readonly state: ScannedProcess["state"];
  readonly notes: readonly string[];
  readonly mappings: readonly MappingRow[];
  readonly totals: MemUsage & { readonly size: number; readonly kernel: KernelDirty | null };
}

function dirtyOf(e: SmapsEntry | undefined): KernelDirty | null {
  if (!e) return null;
  const g = (k: string): number => e.fields[k] ?? 0;
  return { privateClean: g("Private_Clean"), privateDirty: g("Private_Dirty"), sharedClean: g("Shared_Clean"), sharedDirty: g("Shared_Dirty") };
}


export function buildMapsReport(scan: Scan, proc: ScannedProcess, smaps: readonly SmapsEntry[] | undefined): MapsReport {
  const byRange = new Map((smaps ?? []).map((e) => [e.vma.range, e]));
  const mappings: MappingRow[] = proc.vmas.map((vma, i) => {
    const k = byRange.get(vma.range);
    const usage = proc.source === "pagemap" ? usageRow(proc.usage, i) : k ? usageRow(usageFromSmaps(k.fields), 0) : zeroUsage();
    const [start, end] = vma.range.split("-") as [string, string];
    return {
      start,
      end,
      perms: vma.perms,
      offset: vma.offset,
      dev: vma.dev,
      inode: vma.inode,
      name: vma.name,
      kind: vma.kind,
      size: vma.end - vma.start,
      ...usage,
      kernel: dirtyOf(k),
      vmFlags: k ? k.vmFlags : null,
    };
  });
  const totals = zeroUsage();
  for (const m of mappings) for (const f of USAGE_FIELDS) totals[f] += m[f];
  const kernelTotals = smaps
    ? mappings.reduce<KernelDirty>(
        (a, m) =>
          m.kernel
            ? {
                privateClean: a.privateClean + m.kernel.privateClean,
                privateDirty: a.privateDirty + m.kernel.privateDirty,
                sharedClean: a.sharedClean + m.kernel.sharedClean,
                sharedDirty: a.sharedDirty + m.kernel.sharedDirty,
              }
            : a,
        { privateClean: 0, privateDirty: 0, sharedClean: 0, sharedDirty: 0 },
      )
    : null;
  return {
    schemaVersion: SCHEMA_VERSION,
    takenAt: scan.takenAt,
    pid: proc.info.pid,
    command: commandOf(proc.info),
    user: proc.info.user,
    source: proc.source,
    state: proc.state,
    notes: proc.state === "no-mm" ? [...scan.notes, `process ${proc.info.pid} is a kernel thread or zombie: it has no user memory, so no mappings.`] : scan.notes,
    mappings,
    totals: { ...totals, size: mappings.reduce((a, m) => a + m.size, 0), kernel: kernelTotals },
  };
}

/** `maps --sort`: address order by default; sizes largest first; name alphabetically. */
export const MAPS_SORT_KEYS = ["address", "size", "rss", "pss", "uss", "shared", "swap", "name"] as const;
export type MapsSortKey = (typeof MAPS_SORT_KEYS)[number];

/** The mappings in `key` order (ties in address order), reversed with `reverse`. */
export function sortMappings(report: MapsReport, key: MapsSortKey, reverse: boolean): MapsReport {
  const mappings = report.mappings.map((m, i) => [m, i] as const);
  const cmp =
    key === "address"
      ? undefined
      : key === "name"
        ? (a: MappingRow, b: MappingRow) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
        : (a: MappingRow, b: MappingRow) => b[key] - a[key];
  if (cmp) mappings.sort((a, b) => cmp(a[0], b[0]) || a[1] - b[1]);
  const rows = mappings.map(([m]) => m);
  if (reverse) rows.reverse();
  return { ...report, mappings: rows };
}
