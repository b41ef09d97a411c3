/**
 * What the running kernel offers pagelens, and what it lacks, with the
 * reason (`pagelens kernel`), so a user knows which numbers the tool can
 * give here.
 */
import type { KernelInfo } from "../kernel/features.js";
import { SCHEMA_VERSION } from "./scan-header.js";

/** What each feature is for, in the user's terms. */
const USES: Record<keyof KernelInfo["features"], string> = {
  kpagecount: "map counts: PSS, USS, sharing (root)",
  kpageflags: "page flags: anon/file/shmem, huge pages, the flags census (root)",
  kpagecgroup: "the memory cgroup charged for each page (root, CONFIG_MEMCG)",
  pfns: "physical page numbers in pagemap (CAP_SYS_ADMIN)",
  softDirty: "pagemap bit 55 (soft-dirty), for write tracking",
  idlePageTracking: "/sys/kernel/mm/page_idle, for working-set measurement",
  anonVmaNames: "[anon:NAME] mapping names",
  pagemapScan: "the PAGEMAP_SCAN ioctl",
  smapsRollup: "smaps_rollup: the kernel's totals, used without root",
  guardRegions: "pagemap bit 58: guard regions",
  config: "the kernel build options (/proc/config.gz)",
};

export interface KernelReport {
  readonly schemaVersion: number;
  readonly release: string | null;
  readonly pageSize: number;
  readonly mapcount: KernelInfo["mapcount"];
  readonly maxSwapfiles: number;
  readonly swapAreas: number;
  readonly ksmActive: boolean;
  readonly thpMode: string | null;
  readonly features: readonly { name: string; available: boolean; use: string; note: string | null }[];
}

export function buildKernelReport(k: KernelInfo): KernelReport {
  return {
    schemaVersion: SCHEMA_VERSION,
    release: k.version?.release ?? null,
    pageSize: k.pageSize,
    mapcount: k.mapcount,
    maxSwapfiles: k.maxSwapfiles,
    swapAreas: k.swapAreas.length,
    ksmActive: k.ksmActive,
    thpMode: k.thpMode ?? null,
    features: (Object.keys(USES) as (keyof KernelInfo["features"])[]).map((name) => ({
      name,
      available: k.features[name].available,
      use: USES[name],
      note: k.features[name].note ?? null,
    })),
  };
}
