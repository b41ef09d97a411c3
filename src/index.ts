/**
 * pagelens as a library: read a machine's page tables through a procfs root
 * and turn them into reports. Re-exports only; see each module for details.
 */
// Reading
export { ProcFs, U64File, type ProcFsOptions } from "./procfs/procfs.js";
export { UserNames, parsePasswd } from "./procfs/users.js";
export { probeKernel, type KernelInfo, type Feature, type FeatureName, type MapcountMode } from "./kernel/features.js";

// Parsing (pure: text in, values out)
export { parseMaps, parseMapsLine, classifyVma, type Vma, type VmaKind } from "./parse/maps.js";
export { parseSmaps, parseSmapsRollup, type SmapsEntry, type SmapsFields } from "./parse/smaps.js";
export { parseStatus, parseCmdline, type ProcessStatus } from "./parse/status.js";
export { parseMeminfo, parseSwaps, type Meminfo, type SwapArea } from "./parse/meminfo.js";
export { parseKernelConfig, parseOsRelease, parseCgroupFile, memoryCgroupPath } from "./parse/kernel-config.js";

// Decoding (pure: bits in, meaning out)
export * from "./decode/pagemap.js";
export * from "./decode/kpageflags.js";

// Scanning and accounting
export { KpageTable, PfnSet, lookupKpages } from "./scan/kpage-lookup.js";
export { scanSystem, type Scan, type ScannedProcess, type ScanOptions, type UsageSource, type ProcessState } from "./scan/system-scan.js";
export { Scanner, type ScannerOptions } from "./scan/scanner.js";
// The scan as one plain, versioned value (what every report reads), and its bytes.
export {
  SCAN_DATA_VERSION,
  RUN_CHUNK,
  detachScan,
  kpageRankOf,
  forEachRankRange,
  forEachRunSlice,
  type ScanData,
  type ScanRuns,
  type RunChunk,
  type ScanSwaps,
  type KpageValues,
  type IndexRange,
  type LookupStats,
} from "./scan/scan-data.js";
export { encodeScan, decodeScan, ScanFormatError } from "./scan/scan-codec.js";
export { type PagemapScanMode } from "./scan/pagemap-pass.js";
export { readProcessInfo, commandOf, type ProcessInfo } from "./scan/process-info.js";
export { USAGE_FIELDS, NF, U, usageRow, usageFromSmaps, sumRows, zeroUsage, addUsage, type MemUsage, type UsageField } from "./accounting/usage.js";

// Reports (pure: scan in, data out) and renderers (pure: data in, text out)
export { buildPsReport, processRow, totalsOf, machineFigures, SCHEMA_VERSION, type PsReport, type ProcessRow, type SortKey } from "./report/process-report.js";
export { buildMapsReport, type MapsReport, type MappingRow } from "./report/maps-report.js";
export { buildPagesReport, type PagesReport, type PageRun } from "./report/pages-report.js";
export { renderPsTable, renderPsJson, renderPsCsv } from "./render/ps-render.js";
export { renderMapsTable, renderMapsJson } from "./render/maps-render.js";
export { renderPagesTable, renderPagesJson } from "./render/pages-render.js";
export { buildLibsReport, type LibsReport } from "./report/libs-report.js";
export { buildSharesReport, type SharesReport } from "./report/shares-report.js";
export { buildPageOwners, type PageOwners } from "./analysis/page-owners.js";
export { buildGroupsReport, buildCharges, measureGroups, partitionGroups, treeGroups, pidsGroups, type GroupsReport } from "./report/groups-report.js";
export { censusPfns, type Census } from "./scan/census.js";
export { censusProcess } from "./scan/process-census.js";
export { buildFlagsReport, describeFlags, type FlagsReport } from "./report/flags-report.js";
export { reconcileSystem, buildSystemReport, type Reconciliation, type SystemReport } from "./report/system-report.js";
export { type FileReport } from "./report/file-report.js";
export { formatSize, type Unit } from "./render/units.js";

// Views (one function per report: source and options in, report data out)
export type { ViewSource, ViewHooks } from "./views/source.js";
export { psView, type PsViewOptions } from "./views/ps.js";
export { mapsView, type MapsViewOptions } from "./views/maps.js";
export { pagesView, type PagesViewOptions } from "./views/pages.js";
export { libsView, type LibsViewOptions } from "./views/libs.js";
export { sharesView, type SharesViewOptions } from "./views/shares.js";
export { groupsView, type GroupsViewOptions } from "./views/groups.js";
export { flagsView, type FlagsViewOptions } from "./views/flags.js";
export { systemView, gatherSystem, systemReportOf, type SystemGathered } from "./views/system.js";
export { fileView, type FileViewOptions } from "./views/file.js";
export { kernelView } from "./views/kernel.js";
export { reportView, type ReportViewOptions } from "./views/report.js";
export { buildHtmlReport, type HtmlReport } from "./report/html-report.js";
export { buildAddressMap, PagemapRuns, type AddressMap } from "./report/address-map.js";
export { renderHtmlReport, scriptSafeJson } from "./render/html-render.js";
export { buildKernelReport, type KernelReport } from "./report/kernel-report.js";

// Errors
export * from "./errors.js";

// The command line is its own entry point, "pagelens/cli" (src/cli/run.ts),
// so that the library loads without commander and the commands.
