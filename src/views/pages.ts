/** The pages view: one process, page by page (page-types -p PID -l). */
import { PM_PRESENT_HI, pfnOf } from "../decode/pagemap.js";
import { NoSuchProcessError, ProcessGoneError } from "../errors.js";
import { probeKernel } from "../kernel/features.js";
import { parseMaps } from "../parse/maps.js";
import { UserNames } from "../procfs/users.js";
import { buildPagesReport, collectEntries, type PageEntries, type PagesReport } from "../report/pages-report.js";
import { lookupKpages, PfnSet, type KpageTable } from "../scan/kpage-lookup.js";
import { commandOf, readProcessInfo } from "../scan/process-info.js";
import { PagemapBuffer, readPagemap } from "../scan/read-pagemap.js";
import type { ViewSource } from "./source.js";

export interface PagesViewOptions {
  /** Virtual address range [start, end); the whole process when absent. */
  readonly addr?: { readonly start: number; readonly end: number };
  /** One row per page instead of runs of alike pages. */
  readonly each?: boolean;
  /** Kernel-hacker flags too, overloaded bits expanded. */
  readonly raw?: boolean;
}

export function pagesView(src: ViewSource, pid: number, o: PagesViewOptions = {}): PagesReport {
  const { procfs } = src;
  const kernel = probeKernel(procfs);
  let info;
  try {
    info = readProcessInfo(procfs, pid, new UserNames(src.passwdFile));
  } catch (err) {
    if (err instanceof ProcessGoneError) throw new NoSuchProcessError(pid);
    throw err;
  }
  const vmas = parseMaps(procfs.readText(`${pid}/maps`, pid), procfs.path(pid, "maps"));
  const entries: PageEntries = { vpn: [], lo: [], hi: [], vma: [] };
  const ps = kernel.pageSize;
  const range = o.addr ? { startVpn: Math.floor(o.addr.start / ps), endVpn: Math.ceil(o.addr.end / ps) } : undefined;
  // A kernel thread or zombie has no mappings, and its pagemap cannot even be opened (ESRCH).
  if (vmas.length > 0) readPagemap(procfs, pid, vmas, ps, new PagemapBuffer(), (u32, count, vpn, v) => collectEntries(entries, u32, count, vpn, v), { range, skipHoles: true });
  const notes: string[] = [];
  const set = new PfnSet();
  let hidden = false;
  for (let i = 0; i < entries.hi.length; i++) {
    if ((entries.hi[i]! & PM_PRESENT_HI) === 0) continue;
    const pfn = pfnOf(entries.lo[i]!, entries.hi[i]!);
    if (pfn === 0) hidden = true;
    else set.add(pfn);
  }
  let values: KpageTable | undefined;
  const f = kernel.features;
  if (hidden) notes.push("PFNs read as zero (no CAP_SYS_ADMIN): page flags, map counts and cgroups cannot be shown; pagemap bits are still exact.");
  else if (!f.kpagecount.available || !f.kpageflags.available) notes.push(`${f.kpageflags.note ?? f.kpagecount.note}: page flags and map counts cannot be shown.`);
  else if (set.size > 0) {
    values = lookupKpages(procfs, set, { cgroups: f.kpagecgroup.available }).table;
    if (!f.kpagecgroup.available) notes.push(`${f.kpagecgroup.note}: no memory cgroup column.`);
  }
  if (!f.softDirty.available) notes.push(`soft-dirty: ${f.softDirty.note}; the f bit is never set here.`);
  if (vmas.length === 0 && info.cmdline.length === 0) notes.push("this is a kernel thread or zombie: it has no user memory");
  return buildPagesReport(
    { pid, command: commandOf(info), pageSize: ps, maxSwapfiles: kernel.maxSwapfiles, notes },
    vmas,
    entries,
    values,
    { each: o.each ?? false, raw: o.raw ?? false },
  );
}
