/**
 * What the running kernel (or the kernel a snapshot came from) offers, probed
 * once per run. Every feature pagelens uses is listed with whether it is there
 * and why not, so the tool can say plainly which numbers it cannot give.
 */
import { gunzipSync } from "node:zlib";
import type { ProcFs } from "../procfs/procfs.js";
import { parseKernelConfig, parseOsRelease, versionAtLeast, type KernelConfig, type KernelVersion } from "../parse/kernel-config.js";
import { parseSwaps, type SwapArea } from "../parse/meminfo.js";
import { PM_FRAME_HI_MASK, PM_PRESENT_HI } from "../decode/pagemap.js";
import { PermissionError, ScanUnsupportedError } from "../errors.js";
import { PagemapScanner } from "../native/pagemap-scan.js";

/** How /proc/kpagecount and smaps count mappings of pages inside large folios. */
export type MapcountMode = "precise" | "average" | "unknown";

export interface Feature {
  readonly available: boolean;
  /** Why it is missing, or a note about how it behaves here. */
  readonly note?: string;
}

export interface KernelInfo {
  readonly version: KernelVersion | undefined;
  readonly pageSize: number;
  readonly mapcount: MapcountMode;
  /** MAX_SWAPFILES: swap types below it are real swap areas (include/linux/swap.h). */
  readonly maxSwapfiles: number;
  readonly swapAreas: readonly SwapArea[];
  /**
   * KSM has merged pages (its counters are non-zero): a KSM page mapped once
   * looks exclusive in pagemap, so each process's ksm_stat is read to tell
   * which may map one (parse/ksm-stat.ts).
   */
  readonly ksmActive: boolean;
  readonly thpMode: string | undefined;
  readonly features: Readonly<Record<FeatureName, Feature>>;
}

export type FeatureName =
  | "kpagecount"
  | "kpageflags"
  | "kpagecgroup"
  | "pfns"
  | "softDirty"
  | "idlePageTracking"
  | "anonVmaNames"
  | "pagemapScan"
  | "smapsRollup"
  | "guardRegions"
  | "config";

/** Configs read, per procfs root: a running kernel's build options never change. */
const configs = new WeakMap<ProcFs, KernelConfig | undefined>();

/**
 * The kernel's build options from config.gz under the procfs root (the one
 * place that reads and gunzips it), or undefined when there is none or it
 * cannot be read (callers then guess and say so). Read once per ProcFs.
 */
export function readKernelConfig(procfs: ProcFs): KernelConfig | undefined {
  if (configs.has(procfs)) return configs.get(procfs);
  let config: KernelConfig | undefined;
  try {
    const gz = procfs.readOptionalBytes("config.gz");
    config = gz === undefined ? undefined : parseKernelConfig(gunzipSync(gz).toString("utf8"));
  } catch {
    config = undefined;
  }
  configs.set(procfs, config);
  return config;
}

/** First KernelPageSize in our own smaps: Node has no sysconf(_SC_PAGESIZE). */
function pageSizeOf(procfs: ProcFs): number {
  const text = procfs.readOptionalText("self/smaps");
  const m = text === undefined ? null : /^KernelPageSize:\s+([0-9]+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : 4096;
}

/**
 * Are PFNs visible in pagemap to this process? Read our own pagemap over our
 * first mapping (the executable, resident): PFN 0 on present entries means
 * hidden (no CAP_SYS_ADMIN in the initial user namespace, Linux 4.2+).
 */
function pfnVisibility(procfs: ProcFs): Feature {
  const maps = procfs.readOptionalText("self/maps");
  const m = maps === undefined ? null : /^([0-9a-f]+)-([0-9a-f]+)/.exec(maps);
  if (!m) return { available: true, note: "not probed (no self/maps under this root)" };
  try {
    const file = procfs.openU64("self/pagemap");
    try {
      const start = parseInt(m[1]!, 16) / 4096;
      const n = Math.min(64, parseInt(m[2]!, 16) / 4096 - start);
      const buf = new Uint8Array(n * 8);
      const got = file.readWords(start, n, buf);
      const u32 = new Uint32Array(buf.buffer);
      let present = 0;
      for (let i = 0; i < got; i++) {
        const hi = u32[2 * i + 1]!;
        if ((hi & PM_PRESENT_HI) === 0) continue;
        present++;
        if (u32[2 * i] !== 0 || (hi & PM_FRAME_HI_MASK) !== 0) return { available: true };
      }
      return present > 0 ? { available: false, note: "PFNs read as zero: no CAP_SYS_ADMIN in the initial user namespace" } : { available: true, note: "not probed (nothing resident)" };
    } finally {
      file.close();
    }
  } catch {
    return { available: false, note: "cannot read our own pagemap" };
  }
}

function canRead(procfs: ProcFs, rel: string): Feature {
  try {
    procfs.openU64(rel).close();
    return { available: true };
  } catch (err) {
    if (err instanceof PermissionError) return { available: false, note: `${procfs.path(rel)} is readable by root only` };
    return { available: false, note: `${procfs.path(rel)} is missing (kernel built without it)` };
  }
}

function maxSwapfilesOf(config: KernelConfig | undefined): number {
  // MAX_SWAPFILES = 32 - device(4 if DEVICE_PRIVATE) - migration(3) - hwpoison(1 if MEMORY_FAILURE) - marker(1).
  // Unknown config: assume the smallest value, so no special type is ever taken for swap.
  if (!config) return 23;
  const dev = config.get("CONFIG_DEVICE_PRIVATE") === "y" ? 4 : 0;
  const hwp = config.get("CONFIG_MEMORY_FAILURE") === "y" ? 1 : 0;
  return 32 - dev - 3 - hwp - 1;
}

function mapcountOf(version: KernelVersion | undefined, config: KernelConfig | undefined): MapcountMode {
  // Before 6.15 every kernel kept per-page mapcounts; since then it is a build option.
  if (version && !versionAtLeast(version, 6, 15)) return "precise";
  if (config?.get("CONFIG_PAGE_MAPCOUNT") === "y") return "precise";
  if (config?.get("CONFIG_NO_PAGE_MAPCOUNT") === "y") return "average";
  return "unknown";
}

const PAGEMAP_SCAN_USE = "used: pagemap is read only where it reports pages, in large mostly empty mappings";

/**
 * Can PAGEMAP_SCAN be issued here? One call on our own pagemap (loads koffi,
 * ~10 ms: only for `pagelens kernel`; a scan finds out on its first call).
 */
function probePagemapScan(procfs: ProcFs): Feature {
  if (!procfs.isLive) return { available: false, note: "not a live /proc (a tree's pagemap files have no ioctl): pagemap is read over every mapped page" };
  try {
    const file = procfs.openU64("self/pagemap");
    try {
      const sc = PagemapScanner.shared(pageSizeOf(procfs));
      sc.scan(file.descriptor, 1, 2);
      return { available: true, note: PAGEMAP_SCAN_USE };
    } finally {
      file.close();
    }
  } catch (err) {
    const why = err instanceof ScanUnsupportedError ? err.reason : err instanceof Error ? err.message : String(err);
    return { available: false, note: `${why}: pagemap is read over every mapped page` };
  }
}

export interface ProbeOptions {
  /** Try the PAGEMAP_SCAN ioctl rather than go by the kernel version (loads koffi). */
  readonly probePagemapScan?: boolean;
}

export function probeKernel(procfs: ProcFs, options: ProbeOptions = {}): KernelInfo {
  const version = parseOsRelease(procfs.readOptionalText("sys/kernel/osrelease") ?? "");
  const config = readKernelConfig(procfs);
  const swapsText = procfs.readOptionalText("swaps");
  const swapAreas = swapsText === undefined ? [] : parseSwaps(swapsText, procfs.path("swaps"));
  const ksmShared = Number(procfs.readSysText("kernel/mm/ksm/pages_shared") ?? "0");
  const ksmSharing = Number(procfs.readSysText("kernel/mm/ksm/pages_sharing") ?? "0");
  const thp = procfs.readSysText("kernel/mm/transparent_hugepage/enabled");
  const thpMode = thp === undefined ? undefined : /\[([a-z]+)\]/.exec(thp)?.[1];
  const cfg = (name: string): Feature =>
    config === undefined
      ? { available: false, note: `unknown: no ${procfs.path("config.gz")}` }
      : config.get(name) === "y"
        ? { available: true }
        : { available: false, note: `kernel built without ${name}` };
  const idle = procfs.sysPath("kernel/mm/page_idle/bitmap");
  const features: Record<FeatureName, Feature> = {
    kpagecount: canRead(procfs, "kpagecount"),
    kpageflags: canRead(procfs, "kpageflags"),
    kpagecgroup: canRead(procfs, "kpagecgroup"),
    pfns: pfnVisibility(procfs),
    softDirty: cfg("CONFIG_MEM_SOFT_DIRTY"),
    idlePageTracking:
      idle !== undefined && procfs.sysExists("kernel/mm/page_idle/bitmap")
        ? { available: true }
        : { available: false, note: "no /sys/kernel/mm/page_idle/bitmap (CONFIG_IDLE_PAGE_TRACKING)" },
    anonVmaNames: cfg("CONFIG_ANON_VMA_NAME"),
    pagemapScan: !versionAtLeast(version, 6, 7)
      ? { available: false, note: "needs Linux 6.7: pagemap is read over every mapped page" }
      : options.probePagemapScan
        ? probePagemapScan(procfs)
        : { available: true, note: PAGEMAP_SCAN_USE },
    smapsRollup: versionAtLeast(version, 4, 14) || version === undefined ? { available: true } : { available: false, note: "needs Linux 4.14" },
    guardRegions: versionAtLeast(version, 6, 15) ? { available: true } : { available: false, note: "pagemap bit 58 needs Linux 6.15" },
    config: config ? { available: true } : { available: false, note: `no ${procfs.path("config.gz")}: kernel options are guessed` },
  };
  return {
    version,
    pageSize: pageSizeOf(procfs),
    mapcount: mapcountOf(version, config),
    maxSwapfiles: maxSwapfilesOf(config),
    swapAreas,
    ksmActive: ksmShared + ksmSharing > 0,
    thpMode,
    features,
  };
}

/**
 * The kernel facts that change while a machine runs (swap areas, KSM's
 * counters, the THP mode) read again; the rest kept from `prev`. For a
 * scanner that scans again and again (scan/scanner.ts).
 */
export function refreshKernel(procfs: ProcFs, prev: KernelInfo): KernelInfo {
  const swapsText = procfs.readOptionalText("swaps");
  const ksmShared = Number(procfs.readSysText("kernel/mm/ksm/pages_shared") ?? "0");
  const ksmSharing = Number(procfs.readSysText("kernel/mm/ksm/pages_sharing") ?? "0");
  const thp = procfs.readSysText("kernel/mm/transparent_hugepage/enabled");
  return {
    ...prev,
    swapAreas: swapsText === undefined ? [] : parseSwaps(swapsText, procfs.path("swaps")),
    ksmActive: ksmShared + ksmSharing > 0,
    thpMode: thp === undefined ? undefined : /\[([a-z]+)\]/.exec(thp)?.[1],
  };
}
