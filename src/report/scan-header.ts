/** What every report built from a scan starts with: its schema, when, how, and on which kernel. */
import type { Scan } from "../scan/scan-data.js";

/**
 * Version of every JSON document pagelens prints (every command's --json,
 * described by schemas/*.schema.json): the one definition. Bumped when a
 * field changes meaning or goes away; new fields do not bump it.
 */
export const SCHEMA_VERSION = 1;

export interface KernelSummary {
  readonly release: string | null;
  readonly pageSize: number;
  /** "precise", "average" or "unknown": how kpagecount counts mappings of large folios. */
  readonly mapcount: string;
}

export interface ScanHeader {
  readonly schemaVersion: number;
  readonly takenAt: string;
  /** "pagemap" (page-level) or "smaps_rollup" (the kernel's totals, without root). */
  readonly mode: Scan["mode"];
  readonly kernel: KernelSummary;
}

export function scanHeader(scan: Scan): ScanHeader {
  return {
    schemaVersion: SCHEMA_VERSION,
    takenAt: scan.takenAt,
    mode: scan.mode,
    kernel: { release: scan.kernel.version?.release ?? null, pageSize: scan.kernel.pageSize, mapcount: scan.kernel.mapcount },
  };
}
