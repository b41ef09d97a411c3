/**
 * Taking a capture: read, through a recording backend, the raw data the
 * views read (each process's files and the pagemap of every mapped range,
 * the kpagecount and kpageflags words of the page frames a scan looks up,
 * the machine's files) and store exactly what was read. Replaying it
 * (backend.ts) then answers the commands as the machine did.
 *
 * It does not run a scan: nothing here decodes pages or does accounting, it
 * only has to know which words a replay will ask for, and asks the kernel for
 * each of them once, in large reads, long ones on the I/O pool threads. A
 * replay reads a subset of what is recorded (every mapped range's pagemap,
 * and the kpage words of the PFNs its lookups need, read through holes no
 * longer than the lookups' GAP); a read outside it is a CaptureMissingError.
 *
 * Three levels (`capture --level`; the CLI's default is all: exact and full).
 * Without `exact` the PFNs are those a scan that is not exact looks up: exclusive
 * anonymous pages it settles from pagemap alone (pfn-bits.ts addLookedUp)
 * are left out, as is kpagecgroup; that answers ps, libs, shares, groups,
 * diff and kernel, and is about what `pagelens --json` itself reads. `exact`
 * adds every present page's kpagecount, kpageflags and kpagecgroup (for
 * --exact, pages, flags --pid, groups --charges: ~1.6 M PFNs on the
 * reference workload, ~0.3 s of kernel time for the three files, against
 * ~0.35 M PFNs and two files).
 *
 * `full` (which implies exact) adds what only some views need and the kernel is slow to give:
 * every process's smaps (the clean/dirty split of `maps`; ~0.15-0.3 s of
 * kernel time on the reference workload, which walks every page table and
 * looks every page's map count up) and the whole kpageflags (the census of
 * `system` and `flags`: 0.35 s of kernel time on a 24 GiB machine). Without
 * them those views refuse a capture, naming the level that records them.
 */
import * as fs from "node:fs";
import { hostname } from "node:os";
import { ProcessGoneError } from "../errors.js";
import { MemoryCgroups } from "../kernel/cgroups.js";
import { probeKernel } from "../kernel/features.js";
import { ProcFs, type U64File } from "../procfs/procfs.js";
import { parsePasswd, UserNames } from "../procfs/users.js";
import { discoverProcesses } from "../scan/collect.js";
import { GAP } from "../scan/kpage-lookup.js";
import { stretchesOf } from "../scan/pagemap-spans.js";
import { CAPTURE_FORMAT, CAPTURE_VERSION, CaptureWriter, type Meta } from "./format.js";
import { PfnBits, type PagemapSeen } from "./pfn-bits.js";
import { RecordingBackend } from "./recorder.js";

export interface CaptureOptions {
  readonly root?: string;
  readonly sysRoot?: string;
  readonly passwdFile?: string;
  /** Only these processes (default: all). */
  readonly pids?: readonly number[];
  /** Also the kpage words of every page (for --exact, pages, flags --pid, groups --charges). */
  readonly exact?: boolean;
  /** Also every process's smaps and the whole kpageflags (for maps' clean/dirty columns, system and flags over the machine); implies exact. */
  readonly full?: boolean;
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

/** Words per read on the pool (512 KiB): large enough that the hand-over (10-20 us) is lost in the kernel's time. */
const WINDOW = 64 * 1024;
/**
 * Stretches of at most this many pagemap words are read on this thread: a
 * pread here costs ~1.5 us, a pool read 10-20 us of CPU (as pagemap-pass.ts
 * SYNC_ENTRIES); most stretches are a library's few mappings.
 */
const SYNC_WORDS = 1024;
/**
 * kpage words are read through holes of up to this many PFNs: the lookups'
 * GAP (kpage-lookup.ts), so that every read a replay makes lies inside a
 * recorded run, and no more: every word read through is ~50 ns of kernel
 * time and recorded. On the reference workload (1.6 M PFNs) gap 16 reads
 * 2.0 M words a file in 8.5 K runs (7.3 K of them short, read here), gap 64
 * 2.14 M words in 3.7 K runs, gap 0 would be 115 K runs. Short runs are read
 * on this thread (SYNC_WORDS): with memory fragmented (28 K runs in all), all
 * on the pool took 840-1070 ms of CPU for the three files against 460-510
 * this way; gap 64 or 256 all on the pool 520-690. At --level ps (1.0 M words
 * in 32.5 K runs), gap 32 and 64 read 1.5 and 2.4 M words in 22.5 and 13 K
 * runs for 151-185, 168-178 and 213-237 ms of CPU (gap 16, 32, 64): no gain.
 */
const KPAGE_GAP = GAP;
/** Reads in flight at once on the pool: its 4 threads, so the kernel's work spreads over the cores. */
const IN_FLIGHT = 4;

/** Run `tasks`, at most `limit` at a time. */
async function runLimited(tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

/** Buffers of WINDOW words, reused: one per read in flight. */
class Buffers {
  private free: Uint8Array[] = [];
  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(WINDOW * 8);
  }
  give(b: Uint8Array): void {
    this.free.push(b);
  }
}

/**
 * Read words [s, e) of an open word file (the reads are what gets recorded),
 * in windows on the pool, or here when short; `each` sees what came back.
 * False when the file ended first.
 */
async function readRange(file: U64File, s: number, e: number, bufs: Buffers, each?: (u32: Uint32Array, got: number, index: number) => void, syncWords = SYNC_WORDS): Promise<boolean> {
  const buf = bufs.take();
  try {
    for (let i = s; i < e; ) {
      const n = Math.min(WINDOW, e - i);
      const got = n <= syncWords ? file.readWords(i, n, buf) : await file.readWordsAsync(i, n, buf);
      each?.(new Uint32Array(buf.buffer, buf.byteOffset, got * 2), got, i);
      if (got < n) return false;
      i += n;
    }
    return true;
  } finally {
    bufs.give(buf);
  }
}

export async function takeCapture(o: CaptureOptions): Promise<CaptureResult> {
  const rec = new RecordingBackend();
  const root = o.root ?? "/proc";
  const procfs = new ProcFs({ root, sysRoot: o.sysRoot, backend: rec });
  procfs.checkRoot();
  const full = o.full === true;
  const exact = full || o.exact === true;
  const notRecorded: string[] = [];
  const takenAt = new Date().toISOString();
  const t0 = performance.now();
  let mark = t0;
  // CPU time (all threads: the pool's reads and compression included) beside wall time, as scans trace it.
  let cpuMark = process.cpuUsage();
  const phase = (name: string, detail?: string): void => {
    if (!o.trace) return;
    const now = performance.now();
    const cpu = process.cpuUsage(cpuMark);
    const cpuText = `cpu ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms`;
    o.trace(`capture: ${name}`, now - mark, detail ? `${detail}; ${cpuText}` : cpuText);
    mark = now;
    cpuMark = process.cpuUsage();
  };
  const kernel = probeKernel(procfs);
  const f = kernel.features;
  const cgroups = f.kpagecgroup.available;
  const canLookup = f.kpagecount.available && f.kpageflags.available;
  const pageSize = kernel.pageSize;
  const bufs = new Buffers();

  // The whole kpageflags (full, for system and flags), read from word 0 to its end on the pool threads, two
  // windows at a time, while everything else is read: the kernel's ~0.35 s for a 24 GiB machine then overlaps the
  // rest on the other core. It also answers every kpageflags word the pages need, so those are not read again.
  let whole: Promise<void> | undefined;
  if (full && f.kpageflags.available) {
    const tw = performance.now();
    const file = procfs.openU64("kpageflags");
    let next = 0;
    let end = Infinity;
    const reader = async (): Promise<void> => {
      while (next * WINDOW < end) {
        const k = next++;
        if (!(await readRange(file, k * WINDOW, (k + 1) * WINDOW, bufs))) end = Math.min(end, (k + 1) * WINDOW);
      }
    };
    // Both readers settle before the file is closed, so no read is left in flight on a closed fd.
    whole = Promise.allSettled([reader(), reader()]).then((results) => {
      file.close();
      o.trace?.("capture: whole kpageflags (on the pool threads, from the start)", performance.now() - tw);
      for (const r of results) if (r.status === "rejected") throw r.reason;
    });
    // Handled where it is awaited; until then a failure must not be an unhandled rejection.
    whole.catch(() => undefined);
  }

  // 1. Who is there, and what they map: the scan's own discovery (status, cmdline, cgroup, stat, maps; ksm_stat while
  // KSM has merged pages), so that a replay's discovery reads exactly what was recorded.
  const pids = o.pids ?? procfs.listPids();
  const found = discoverProcesses(procfs, pids, new UserNames(o.passwdFile), undefined, kernel.ksmActive);
  const processes = found.candidates.length + found.skipped.length;
  phase("discover processes", `${found.candidates.length} with mappings of ${processes}`);

  // 2. Per process, on the pool threads, several at once: the files the views read besides discovery, and the
  // pagemap of every mapped range (what a replay's scan reads: it has no PAGEMAP_SCAN), whose present entries'
  // PFNs are collected for step 3. A process whose page frames cannot be had (pagemap refused, PFNs hidden) is
  // read from smaps_rollup by a replay, and its mappings from smaps by `libs`; one with swapped entries reads
  // smaps when scanned with only some processes (swap-pss.ts): those are recorded whatever `full` says.
  const pfns = new PfnBits();
  let mapped = 0;
  let pagemapWords = 0;
  let done = 0;
  // As the scan decides (system-scan.ts): exclusive pages are settled from pagemap alone when map counts are per
  // page, in processes that cannot map KSM pages.
  const all = [
    ...found.candidates.map((c) => ({ pid: c.info.pid, vmas: c.vmas, trusted: kernel.mapcount === "precise" && c.mayMapKsm !== true })),
    ...found.skipped.map((s) => ({ pid: s.info.pid, vmas: [], trusted: false })),
  ];
  const tasks = all.map(({ pid, vmas, trusted }) => async (): Promise<void> => {
    // Small files here (most were read by discovery already), smaps on the pool.
    for (const name of ["stat", "cmdline", "cgroup", "maps", "status", ...(kernel.ksmActive ? ["ksm_stat"] : [])]) rec.recordTextSync(procfs.path(pid, name), pid);
    const texts = full ? [rec.recordTextAsync(procfs.path(pid, "smaps"), pid)] : [];
    const seen: PagemapSeen = { swapped: false, hidden: false };
    let rollup = !canLookup;
    const stretches = canLookup ? stretchesOf(vmas, pageSize) : [];
    for (const s of stretches) mapped += (s.endVpn - s.startVpn) * pageSize;
    if (stretches.length > 0) {
      let file: U64File | undefined;
      try {
        file = procfs.openU64(`${pid}/pagemap`, pid);
        const block = { huge: false };
        const each = (u32: Uint32Array, got: number, vpn: number): void => {
          pagemapWords += got;
          if (!exact) pfns.addLookedUp(u32, got, vpn, trusted, block, seen);
        };
        for (const s of stretches) {
          block.huge = false;
          if (!(await readRange(file, s.startVpn, s.endVpn, bufs, each))) break;
        }
      } catch (err) {
        // Recorded (the backend keeps the error); a replay meets it as the scan did.
        if (!(err instanceof ProcessGoneError)) rollup = true;
      } finally {
        file?.close();
      }
      // The PFNs from the words as recorded (their runs), also when the process exited part-way.
      const recorded = rec.words.get(procfs.path(pid, "pagemap"));
      if (exact && recorded) pfns.addPagemap(recorded.words, seen);
    }
    if (rollup || seen.hidden) rec.recordTextSync(procfs.path(pid, "smaps_rollup"), pid);
    if (rollup || seen.hidden || seen.swapped) texts.push(rec.recordTextAsync(procfs.path(pid, "smaps"), pid));
    await Promise.all(texts);
    o.onProgress?.(++done, all.length);
  });
  await runLimited(tasks, IN_FLIGHT);
  phase("pagemap and process files", `${all.length} processes, ${pagemapWords} pagemap words`);

  // The pagemap members are final now (nothing below reads pagemap): compress them on the pool threads while
  // this thread reads the kpage words.
  const writer = new CaptureWriter(takenAt);
  const early = new Map<string, Uint8Array>();
  for (const [name, wr] of rec.words)
    if (/\/pagemap$/.test(name)) {
      early.set(name, wr.words.encodeMember());
      wr.words.sealed = true;
    }
  writer.early(early);
  phase("pagemap members (compressing on the pool from now)", `${early.size} members`);

  // 3. The kpage words of every PFN a recorded pagemap word names, in runs on the pool (kpageflags from the whole
  // read when there is one).
  let kpageWords = 0;
  if (!canLookup) notRecorded.push(`kpagecount, kpageflags (${f.kpagecount.note ?? f.kpageflags.note ?? "unavailable"}): page-level numbers come from smaps_rollup, as they would on the machine`);
  else {
    const runs = pfns.runs(KPAGE_GAP, WINDOW);
    const names = ["kpagecount", ...(whole ? [] : ["kpageflags"]), ...(cgroups && exact ? ["kpagecgroup"] : [])];
    const opened = names.map((n) => procfs.openU64(n));
    try {
      // Long runs on the pool, interleaved by run so the files are read side by side; meanwhile the short ones
      // here, in a plain loop (with memory fragmented they are tens of thousands, and a promise each cost more
      // than the read).
      const reads: Array<() => Promise<void>> = [];
      for (let r = 0; r < runs.length; r += 2) {
        const s = runs[r]!;
        const e = runs[r + 1]!;
        if (e - s > SYNC_WORDS) for (const file of opened) reads.push(() => readRange(file, s, e, bufs, (_, got) => void (kpageWords += got)).then(() => undefined));
      }
      const pool = runLimited(reads, IN_FLIGHT);
      const buf = bufs.take();
      try {
        for (let r = 0; r < runs.length; r += 2) {
          const s = runs[r]!;
          const e = runs[r + 1]!;
          if (e - s <= SYNC_WORDS) for (const file of opened) kpageWords += file.readWords(s, e - s, buf);
        }
      } finally {
        bufs.give(buf);
        // Every pool read settles before the files are closed (below), also when a read here failed.
        await pool.catch(() => undefined);
      }
      await pool;
    } finally {
      for (const file of opened) file.close();
    }
    phase("kpage words", `${names.join(", ")}: ${runs.length / 2} runs, ${kpageWords} words`);
  }
  if (!cgroups) notRecorded.push(`kpagecgroup (${f.kpagecgroup.note ?? "unavailable"}): groups --charges cannot be answered`);

  // 4. Machine: what system, kernel, groups and flags read besides the processes.
  for (const name of ["meminfo", "swaps", "zoneinfo", "vmstat", "self/smaps", "self/maps", "self/mountinfo", "sys/kernel/osrelease"]) procfs.readOptionalText(name);
  procfs.readOptionalBytes("config.gz");
  for (const name of ["module/page_reporting/parameters/page_reporting_order", "module/page_reporting/parameters/max_waiting_mib"]) procfs.readSysText(name);
  const cg = MemoryCgroups.find(procfs);
  if (cg) for (const path of cg.all().keys()) cg.accounting(path);
  phase("machine files");

  if (whole) {
    await whole;
    phase("waiting for the whole kpageflags");
  }

  // 5. Users: only the passwd entries of the uids seen.
  const uids = new Set([...found.candidates, ...found.skipped].map((p) => p.info.uid).filter((u): u is number => u !== undefined));
  let passwd = "";
  try {
    const text = fs.readFileSync(o.passwdFile ?? "/etc/passwd", "utf8");
    const known = parsePasswd(text);
    passwd = text
      .split("\n")
      .filter((l) => {
        const fields = l.split(":");
        return fields.length >= 3 && uids.has(Number(fields[2])) && known.get(Number(fields[2])) === fields[0];
      })
      .join("\n");
  } catch {
    notRecorded.push("user names (no passwd file): uids are shown as numbers");
  }

  if (!exact && canLookup)
    notRecorded.push("kpage words of pages a scan settles from pagemap alone, and kpagecgroup (--exact, pages, flags --pid and groups --charges need them: take the capture at --level pages or all)");
  if (!full && canLookup) notRecorded.push("smaps of most processes, and the whole kpageflags (maps, system, report and flags over the machine need them: take the capture at the default --level all)");
  notRecorded.push("the page cache of files (pagelens file reads it through live mappings)");
  notRecorded.push("kpagecgroup of pages no process maps (flags --cgroup over the whole machine)");

  const words = new Map<string, Uint8Array>();
  let recorded = 0;
  const sizes: Record<string, number | null> = {};
  for (const [name, wr] of rec.words) {
    if (!early.has(name)) words.set(name, wr.words.encodeMember());
    recorded += wr.words.words;
    sizes[name] = wr.size ?? null;
  }
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
  const bytes = await writer.finish({
    manifest: {
      format: CAPTURE_FORMAT,
      version: CAPTURE_VERSION,
      pagelens: o.pagelensVersion,
      time: takenAt,
      host: hostname(),
      kernel: (procfs.readOptionalText("sys/kernel/osrelease") ?? "").trim(),
      root: procfs.root,
      sysRoot: procfs.sysRoot ?? null,
      pids: processes,
      exact,
      full,
      recorded: [
        `per process: stat, status, cmdline, cgroup, maps, pagemap over every mapping, ${full ? "smaps" : "smaps where a replay reads it below --level all (swapped pages, no page frames)"}, and smaps_rollup where pagemap could not be read`,
        exact
          ? "kpagecount, " + (cgroups ? "kpagecgroup and " : "") + "kpageflags of every page a recorded pagemap names"
          : "kpagecount and kpageflags of every page a scan looks up (not those it settles from pagemap alone)",
        ...(full ? ["the whole kpageflags"] : []),
        "meminfo, swaps, zoneinfo, vmstat, config.gz, osrelease, mountinfo, the memory cgroup hierarchy, KSM, THP and page reporting settings",
        "passwd entries of the uids seen",
      ],
      notRecorded,
    },
    meta,
    files: rec.files,
    words,
  });
  phase("encode and compress", `${recorded} words, ${bytes.length} bytes`);
  return { bytes, processes, mappedBytes: mapped, wordsRecorded: recorded, notRecorded };
}
