/**
 * The file view: the page-cache report for files and directories (`pagelens file`): which
 * of their pages are cached, with flags and map counts where root can read
 * them, and which processes map them. Reads the live kernel through our own
 * mappings of the files (native/libc.ts), so it cannot run on a --root tree.
 */
import { NativeUnavailableError, UsageError } from "../errors.js";
import { probeKernel } from "../kernel/features.js";
import { nativeAvailability } from "../native/libc.js";
import { UserNames } from "../procfs/users.js";
import { FileReportBuilder, type FileReport } from "../report/file-report.js";
import { indexFileMappings, mappersOf } from "../scan/file-mappers.js";
import { readFilePages, type Detail } from "../scan/file-pages.js";
import { walkFiles } from "../scan/file-walk.js";
import type { ViewHooks, ViewSource } from "./source.js";

export interface FileViewOptions {
  /** One range per run of alike pages ("ranges"), or one per page ("each"). */
  readonly list?: "ranges" | "each";
  readonly raw?: boolean;
  /** Keep the N files with the most cached bytes. */
  readonly top?: number;
  /** Look for processes that map the files (default true). */
  readonly processes?: boolean;
  /** cachestat(2) totals only: map nothing. */
  readonly totalsOnly?: boolean;
  /** Pages per mapping window (tests use small windows to cross window edges). */
  readonly windowPages?: number;
}

/**
 * The page-cache report for PATHs, read from the live kernel. Throws
 * NativeUnavailableError when mmap/mincore/cachestat cannot be reached.
 */
export function fileView(src: ViewSource, paths: readonly string[], o: FileViewOptions = {}, hooks: ViewHooks = {}): FileReport {
  const { procfs } = src;
  if (!procfs.isLive) throw new UsageError("file reads the live page cache through our own mappings: it cannot be used with --root or on a capture (--from)");
  const native = nativeAvailability();
  if (!native.available) throw new NativeUnavailableError(native.reason);
  const kernel = probeKernel(procfs);
  const f = kernel.features;
  const notes: string[] = [];
  let detail: Detail = o.totalsOnly ? "cachestat" : "pagemap";
  if (detail === "pagemap" && !(f.kpageflags.available && f.kpagecount.available)) {
    detail = "mincore";
    notes.push(
      `${f.kpageflags.note ?? f.kpagecount.note}: page flags, PFNs and map counts need root; cached pages come from mincore(2), dirty/writeback/evicted from cachestat(2)`,
    );
  }
  const walk = walkFiles(paths);
  const builder = new FileReportBuilder(walk.files, { pageSize: kernel.pageSize, raw: o.raw, list: o.list });
  let done = 0;
  // ENOSYS is the kernel's answer for every file: said once below, not per file.
  let noCachestat = 0;
  const sink = {
    pages: builder.pages.bind(builder),
    done: (p: Parameters<FileReportBuilder["done"]>[0]): void => {
      if (p.cachestatError === "ENOSYS") noCachestat++;
      builder.done(p);
      hooks.onProgress?.(++done, walk.files.length);
    },
  };
  // Only listings show the memory cgroup, and kpagecgroup costs as much to read as kpageflags.
  const cgroups = detail === "pagemap" && f.kpagecgroup.available && o.list !== undefined;
  readFilePages(procfs, walk.files, { detail, pageSize: kernel.pageSize, cgroups, windowPages: o.windowPages }, sink);

  if (o.processes !== false) {
    const index = indexFileMappings(procfs, process.pid);
    const users = new UserNames(src.passwdFile);
    walk.files.forEach((t, i) => builder.setProcesses(i, mappersOf(procfs, index, t, kernel.pageSize, users)));
    if (index.unreadable > 0)
      notes.push(
        `${count(index.unreadable, "process", "processes")} would not show ${index.unreadable === 1 ? "its" : "their"} mappings${process.geteuid?.() === 0 ? "" : " (other users' processes need root)"}: missing from the lists of processes`,
      );
  }
  const report = builder.build({ takenAt: new Date().toISOString(), detail, top: o.top, skipped: walk.skipped, notes });

  if (noCachestat > 0 && detail !== "cachestat")
    notes.push("cachestat(2) is not available (Linux 6.5+, CONFIG_CACHESTAT_SYSCALL): no evicted counts" + (detail === "pagemap" ? "; dirty and writeback come from kpageflags" : "; no dirty or writeback counts"));
  else if (noCachestat > 0) notes.push("cachestat(2) is not available (Linux 6.5+, CONFIG_CACHESTAT_SYSCALL): --totals-only has nothing to show; drop it");
  const p = walk.passed;
  const passed: string[] = [];
  if (p.symlinks > 0) passed.push(`${count(p.symlinks, "symbolic link", "symbolic links")} not followed`);
  if (p.otherFilesystems > 0) passed.push(`${count(p.otherFilesystems, "directory", "directories")} on other filesystems not entered`);
  if (p.hardLinks > 0) passed.push(`${count(p.hardLinks, "further hard link", "further hard links")} to files already counted`);
  if (p.special > 0) passed.push(`${count(p.special, "special file", "special files")} (devices, FIFOs, sockets) left out`);
  if (passed.length > 0) notes.push(`walking the directories: ${passed.join(", ")}`);
  for (const s of walk.skipped) notes.push(`${s.path}: ${s.reason}`);
  return report;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
