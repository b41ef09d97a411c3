/**
 * `pagelens kernel`: what the running kernel offers pagelens, and what it
 * lacks, with the reason, so a user knows which numbers the tool can give here.
 */
import type { Command } from "commander";
import { probeKernel, type KernelInfo } from "../../kernel/features.js";
import type { Write } from "../../render/chunked-writer.js";
import { renderTable, writeTableCsv, type Column, type TableOptions } from "../../render/table.js";
import { SCHEMA_VERSION } from "../../report/scan-header.js";
import { makeContext, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

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

type FeatureRow = KernelReport["features"][number];
const FEATURE_COLUMNS: Column<FeatureRow>[] = [
  { header: "FEATURE", align: "left", value: (f) => f.name },
  { header: "HERE", align: "left", value: (f) => (f.available ? "yes" : "no") },
  { header: "USED FOR", align: "left", drop: 1, cut: "end", value: (f) => f.use },
  { header: "NOTE", align: "left", cut: "end", value: (f) => f.note ?? "" },
];

/** The features as CSV: feature, here, used for, note. */
export function writeKernelCsv(r: KernelReport, write: Write): void {
  writeTableCsv(write, FEATURE_COLUMNS, r.features);
}

export function renderKernelTable(r: KernelReport, o: TableOptions = {}): string {
  const mapcount =
    r.mapcount === "precise" ? "precise (per page)" : r.mapcount === "average" ? "per-folio average (CONFIG_NO_PAGE_MAPCOUNT)" : "unknown (no kernel config)";
  return (
    `kernel ${r.release ?? "?"}, page size ${r.pageSize}, map counts ${mapcount}, THP ${r.thpMode ?? "?"}, ` +
    `KSM ${r.ksmActive ? "merging" : "idle"}, ${r.swapAreas} swap area(s), swap types below ${r.maxSwapfiles} are swap\n` +
    renderTable(FEATURE_COLUMNS, r.features, [], o)
  );
}

export function kernelCommand(ctx: Context, o: { readonly json: boolean; readonly csv?: boolean; readonly wide?: boolean }): number {
  rejectJsonAndCsv(o);
  const report = buildKernelReport(probeKernel(ctx.procfs));
  if (o.json) ctx.io.stdout(JSON.stringify(report, null, 2) + "\n");
  else if (o.csv) writeKernelCsv(report, ctx.io.stdout);
  else {
    const t = tableOutput(ctx, "human", o.wide === true);
    ctx.io.stdout(renderKernelTable(report, t));
    noteFit(ctx, t);
  }
  return 0;
}

export function registerKernelCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("kernel")
    .description("what the running kernel offers pagelens, and what it lacks (and why)")
    .option("--json", "print one JSON document", false)
    .option("--csv", "print the features as CSV", false)
    .option("--wide", "show every column whole, even when it does not fit the terminal", false)
    .action(function (this: Command) {
      const o = this.opts() as { json: boolean; csv: boolean; wide: boolean };
      setCode(kernelCommand(makeContext(this.optsWithGlobals() as GlobalOptions, io), o));
    });
}
