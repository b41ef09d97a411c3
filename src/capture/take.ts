/**
 * Taking a capture: run the reads every view makes through a recording
 * backend, then fill what the views would read but this run did not
 * (pagemap of mappings the scan skipped, kpagecount/kpagecgroup of their
 * pages, the whole kpageflags for `system` and `flags`), and store exactly
 * what was read. Replaying it (backend.ts) then answers every command as the
 * machine did.
 */
import * as fs from "node:fs";
import { hostname } from "node:os";
import { PM_FRAME_HI_MASK, PM_PRESENT_HI, TWO_32 } from "../decode/pagemap.js";
import { ProcessGoneError } from "../errors.js";
import { MemoryCgroups } from "../kernel/cgroups.js";
import { probeKernel } from "../kernel/features.js";
import { ProcFs, type U64File } from "../procfs/procfs.js";
import { parsePasswd } from "../procfs/users.js";
import { F64Column } from "../scan/f64-column.js";
import { scanSystem, type Scan } from "../scan/system-scan.js";
import { CAPTURE_FORMAT, CAPTURE_VERSION, writeCaptureAsync, type Meta } from "./format.js";
import { RecordingBackend, type WholeWords } from "./recorder.js";

export interface CaptureOptions {
  readonly root?: string;
  readonly sysRoot?: string;
  readonly passwdFile?: string;
  /** Only these processes (default: all). */
  readonly pids?: readonly number[];
  readonly pagelensVersion: string;
  readonly onProgress?: (done: number, total: number) => void;
  readonly trace?: (phase: string, ms: number, detail?: string) => void;
}

export interface CaptureResult {
  readonly bytes: Uint8Array;
  readonly processes: number;
  /** Bytes of address space whose pagemap was recorded. */
  readonly mappedBytes: number;
  readonly wordsRecorded: number;
  readonly notRecorded: readonly string[];
}

/** The parts of [s, e) not in `cov` (sorted, merged), looking from cov[from] on; `from` is where the next, later range may start looking. */
function gaps(cov: ReadonlyArray<[number, number]>, s: number, e: number, from = 0): { parts: Array<[number, number]>; next: number } {
  const out: Array<[number, number]> = [];
  let k = from;
  while (k < cov.length && cov[k]![1] <= s) k++;
  const next = k;
  let at = s;
  for (; k < cov.length; k++) {
    const [cs, ce] = cov[k]!;
    if (cs >= e) break;
    if (cs > at) out.push([at, cs]);
    at = Math.max(at, ce);
    if (at >= e) break;
  }
  if (at < e) out.push([at, e]);
  return { parts: out, next };
}

const WINDOW = 64 * 1024;

/** The PFNs of present pagemap entries among `got` words of `buf` (bit 63 set; PFN in bits 0-54). */
function collectPfns(buf: Uint8Array, got: number, pfns: F64Column): void {
  const u32 = new Uint32Array(buf.buffer, buf.byteOffset, got * 2);
  for (let k = 0; k < got; k++) {
    const hi = u32[2 * k + 1]!;
    if ((hi & PM_PRESENT_HI) !== 0 && ((hi & PM_FRAME_HI_MASK) !== 0 || u32[2 * k] !== 0)) pfns.push((hi & PM_FRAME_HI_MASK) * TWO_32 + u32[2 * k]!);
  }
}

/**
 * Read [s, e) of an open word file in windows on a pool thread (the reads
 * are what gets recorded); with `pfns`, collect the PFNs of present pagemap
 * entries. Stops at the end of the file.
 */
async function readRange(file: U64File, s: number, e: number, buf: Uint8Array, pfns?: F64Column): Promise<boolean> {
  for (let i = s; i < e; ) {
    const n = Math.min(WINDOW, e - i);
    const got = await file.readWordsAsync(i, n, buf);
    if (pfns) collectPfns(buf, got, pfns);
    if (got < n) return false;
    i += n;
  }
  return true;
}

/** Run `tasks`, at most `limit` at a time (the pool has 4 threads; the main thread decodes meanwhile). */
async function runLimited(tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

function timed<T>(trace: CaptureOptions["trace"], phase: string, f: () => T): T {
  const t0 = performance.now();
  const r = f();
  trace?.(phase, performance.now() - t0);
  return r;
}

/** Reads in flight at once on the pool: its 4 threads, so the kernel's work spreads over the cores. */
const IN_FLIGHT = 4;

export async function takeCapture(o: CaptureOptions): Promise<CaptureResult> {
  const rec = new RecordingBackend();
  const root = o.root ?? "/proc";
  const procfs = new ProcFs({ root, sysRoot: o.sysRoot, backend: rec });
  procfs.checkRoot();
  const notRecorded: string[] = [];
  const t0 = performance.now();
  const kernel = probeKernel(procfs);
  const cgroups = kernel.features.kpagecgroup.available;

  // 0. The whole kpageflags (for system and flags), read first, on the pool threads, while the scan reads
  // process files and page tables; the scan's own kpageflags look-ups are then answered from it (recorder.ts
  // WholeWords) instead of the kernel doing ~1.4 M of them a second time on the reference workload.
  let whole: WholeWords | undefined;
  if (kernel.features.kpageflags.available) {
    whole = rec.readWhole(procfs.path("kpageflags"), WINDOW, 2);
    whole.done.then(
      () => o.trace?.("capture: whole kpageflags read (on the pool threads, from the start)", performance.now() - t0),
      () => undefined,
    );
  }

  // 1. The scan the process views make, with every page looked up (exact) and, when the kernel has it, its cgroup.
  let scan: Scan;
  try {
    scan = await scanSystem(procfs, {
      pids: o.pids,
      exact: true,
      cgroups,
      pageFlags: "all",
      passwdFile: o.passwdFile,
      onProgress: o.onProgress,
      trace: o.trace,
    });
  } finally {
    whole?.release();
  }
  if (!cgroups) notRecorded.push(`kpagecgroup (${kernel.features.kpagecgroup.note ?? "unavailable"}): groups --charges cannot be answered`);

  // 2. Per process, on the pool threads, several at once: the text files only the views read (stat for diff,
  // smaps for maps and libs, what the scan did not read itself), and pagemap of every mapping the scan did not
  // read (PAGEMAP_SCAN let it skip stretches with nothing; a replay has no PAGEMAP_SCAN and reads them all).
  // smaps_rollup is read only where the scan fell back to it, as a replay of the same processes will.
  const pageSize = kernel.pageSize;
  let mapped = 0;
  // The scan looked up every page it read (exact); pages of mappings it did not read are looked up in step 4.
  const gapPfns = new F64Column();
  const t2 = performance.now();
  {
    const tasks: Array<() => Promise<void>> = [];
    const bufs: Uint8Array[] = [];
    for (const p of scan.processes) {
      const pid = p.info.pid;
      procfs.ownerOf(pid);
      const files = ["stat", "smaps", "cmdline", "cgroup", "maps", "status"];
      if (p.source !== "pagemap") files.push("smaps_rollup");
      // A scan that is not exact asks once KSM has merged pages whether a process may map them (collect.ts).
      if (kernel.ksmActive) files.push("ksm_stat");
      for (const f of files) tasks.push(() => rec.recordTextAsync(procfs.path(pid, f), pid));
      if (p.state !== "ok" || p.source !== "pagemap") continue;
      const vmas = p.vmas.filter((v) => Math.ceil(v.end / pageSize) <= 2 ** 52 / pageSize); // not [vsyscall] and kernel addresses: pagemap has nothing there
      for (const v of vmas) mapped += v.end - v.start;
      tasks.push(async () => {
        const cov = rec.words.get(procfs.path(pid, "pagemap"))?.words.covered() ?? [];
        let file: U64File;
        try {
          file = procfs.openU64(`${pid}/pagemap`, pid);
        } catch {
          return;
        }
        const buf = bufs.pop() ?? new Uint8Array(WINDOW * 8);
        try {
          let from = 0;
          for (const v of vmas) {
            const g = gaps(cov, Math.floor(v.start / pageSize), Math.ceil(v.end / pageSize), from);
            from = g.next;
            for (const [gs, ge] of g.parts) if (!(await readRange(file, gs, ge, buf, gapPfns))) return;
          }
        } catch (err) {
          if (!(err instanceof ProcessGoneError)) throw err;
        } finally {
          file.close();
          bufs.push(buf);
        }
      });
    }
    await runLimited(tasks, IN_FLIGHT);
  }
  o.trace?.("capture: per-process files", performance.now() - t2);

  // 3. Machine: what system, kernel, groups and flags read besides the scan.
  timed(o.trace, "capture: machine files", () => {
    for (const f of ["meminfo", "swaps", "zoneinfo", "vmstat", "self/smaps", "self/maps", "self/mountinfo", "sys/kernel/osrelease"]) procfs.readOptionalText(f);
    procfs.readOptionalBytes("config.gz");
    for (const f of ["module/page_reporting/parameters/page_reporting_order", "module/page_reporting/parameters/max_waiting_mib"]) procfs.readSysText(f);
    const cg = MemoryCgroups.find(procfs);
    if (cg) {
      const all = cg.all();
      for (const path of all.keys()) cg.accounting(path);
    }
  });

  // 4. kpagecount and kpagecgroup of every PFN a recorded pagemap word names that the scan did not look up.
  const t4 = performance.now();
  try {
    await whole?.done;
  } finally {
    o.trace?.("capture: waiting for kpageflags", performance.now() - t4);
  }
  const t5 = performance.now();
  if (!kernel.features.kpagecount.available) notRecorded.push(`kpagecount, kpageflags (${kernel.features.kpagecount.note ?? "unavailable"}): page-level numbers come from smaps_rollup, as they would on the machine`);
  else {
    const all = gapPfns.values().sort();
    for (const n of ["kpagecount", ...(cgroups ? ["kpagecgroup"] : [])]) {
      const file = procfs.openU64(n);
      try {
        const cov = rec.words.get(procfs.path(n))?.words.covered() ?? [];
        const runs: Array<[number, number]> = [];
        let ci = 0;
        for (let i = 0; i < all.length; ) {
          // One read per run of PFNs not yet recorded, at most WINDOW words.
          const pfn = all[i]!;
          while (ci < cov.length && cov[ci]![1] <= pfn) ci++;
          if (ci < cov.length && cov[ci]![0] <= pfn) {
            i++;
            continue;
          }
          let j = i;
          while (j + 1 < all.length && all[j + 1]! - pfn < WINDOW && !(ci < cov.length && cov[ci]![0] <= all[j + 1]!)) j++;
          runs.push([pfn, all[j]! + 1]);
          i = j + 1;
        }
        const bufs: Uint8Array[] = [];
        await runLimited(
          runs.map(([s, e]) => async () => {
            const buf = bufs.pop() ?? new Uint8Array(WINDOW * 8);
            try {
              await readRange(file, s, e, buf);
            } finally {
              bufs.push(buf);
            }
          }),
          IN_FLIGHT,
        );
      } finally {
        file.close();
      }
    }
  }
  o.trace?.("capture: kpage files", performance.now() - t5);

  // 5. Users: only the passwd entries of the uids seen.
  const uids = new Set(scan.processes.map((p) => p.info.uid).filter((u): u is number => u !== undefined));
  let passwd = "";
  try {
    const text = fs.readFileSync(o.passwdFile ?? "/etc/passwd", "utf8");
    const known = parsePasswd(text);
    passwd = text
      .split("\n")
      .filter((l) => {
        const f = l.split(":");
        return f.length >= 3 && uids.has(Number(f[2])) && known.get(Number(f[2])) === f[0];
      })
      .join("\n");
  } catch {
    notRecorded.push("user names (no passwd file): uids are shown as numbers");
  }

  notRecorded.push("the page cache of files (pagelens file reads it through live mappings)");
  notRecorded.push("kpagecgroup of pages no process maps (flags --cgroup over the whole machine)");

  const t6 = performance.now();
  const bytes = await (async () => {
    const words = new Map<string, Uint8Array>();
    let recorded = 0;
    for (const [name, wr] of rec.words) {
      words.set(name, wr.words.encodeMember());
      recorded += wr.words.words;
    }
    const sizes: Record<string, number | null> = {};
    for (const [name, wr] of rec.words) sizes[name] = wr.size ?? null;
    const meta: Meta = {
      pids: o.pids ? [...o.pids].sort((a, b) => a - b) : rec.pids,
      pidsComplete: o.pids === undefined && rec.pids !== null,
      errors: rec.errors,
      dirs: rec.dirs,
      exists: rec.exist,
      owners: rec.owners,
      wordErrors: rec.wordErrors,
      sizes,
      passwd,
    };
    return {
      recorded,
      out: await writeCaptureAsync({
        manifest: {
          format: CAPTURE_FORMAT,
          version: CAPTURE_VERSION,
          pagelens: o.pagelensVersion,
          time: scan.takenAt,
          host: hostname(),
          kernel: (procfs.readOptionalText("sys/kernel/osrelease") ?? "").trim(),
          root: procfs.root,
          sysRoot: procfs.sysRoot ?? null,
          pids: scan.processes.length,
          recorded: [
            "per process: stat, status, cmdline, cgroup, maps, smaps, pagemap over every mapping, and smaps_rollup where pagemap could not be read",
            "kpagecount" + (cgroups ? " and kpagecgroup" : "") + " of every page a recorded pagemap names",
            "the whole kpageflags",
            "meminfo, swaps, zoneinfo, vmstat, config.gz, osrelease, mountinfo, the memory cgroup hierarchy, KSM, THP and page reporting settings",
            "passwd entries of the uids seen",
          ],
          notRecorded,
        },
        meta,
        files: rec.files,
        words,
      }),
    };
  })();
  o.trace?.("capture: encode and compress", performance.now() - t6);
  return { bytes: bytes.out, processes: scan.processes.length, mappedBytes: mapped, wordsRecorded: bytes.recorded, notRecorded };
}
