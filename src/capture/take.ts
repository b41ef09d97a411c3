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
import { ProcessGoneError, ProcReadError } from "../errors.js";
import { MemoryCgroups } from "../kernel/cgroups.js";
import { probeKernel } from "../kernel/features.js";
import { parseMaps } from "../parse/maps.js";
import { ProcFs, type U64File } from "../procfs/procfs.js";
import { parsePasswd } from "../procfs/users.js";
import { scanSystem, type Scan } from "../scan/system-scan.js";
import { CAPTURE_FORMAT, CAPTURE_VERSION, writeCapture, type Meta } from "./format.js";
import { RecordingBackend } from "./recorder.js";

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

/** The parts of [s, e) not in `cov` (sorted, merged). */
function gaps(cov: ReadonlyArray<[number, number]>, s: number, e: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = s;
  for (const [cs, ce] of cov) {
    if (ce <= at) continue;
    if (cs >= e) break;
    if (cs > at) out.push([at, Math.min(cs, e)]);
    at = Math.max(at, ce);
    if (at >= e) break;
  }
  if (at < e) out.push([at, e]);
  return out;
}

const WINDOW = 64 * 1024;

/**
 * Read [s, e) of an open word file in windows (the reads are what gets
 * recorded); with `pfns`, collect the PFNs of present pagemap entries
 * (bit 63 set; PFN in bits 0-54).
 */
function readRange(file: { readWords(i: number, n: number, into: Uint8Array): number }, s: number, e: number, buf: Uint8Array, pfns?: number[]): void {
  const u32 = new Uint32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  for (let i = s; i < e; ) {
    const n = Math.min(WINDOW, e - i);
    const got = file.readWords(i, n, buf);
    if (pfns)
      for (let k = 0; k < got; k++) {
        const hi = u32[2 * k + 1]!;
        if ((hi & 0x80000000) !== 0 && ((hi & 0x7fffff) !== 0 || u32[2 * k] !== 0)) pfns.push((hi & 0x7fffff) * 2 ** 32 + u32[2 * k]!);
      }
    if (got < n) return;
    i += n;
  }
}

/**
 * Read a word file from word 0 to its end, `inFlight` reads at a time on
 * the I/O pool threads, so the kernel's work overlaps with what the main
 * thread does meanwhile (the per-process files).
 */
async function readAllWords(file: U64File, window: number, inFlight: number): Promise<void> {
  let next = 0;
  let ended = false;
  const reader = async (): Promise<void> => {
    const buf = new Uint8Array(window * 8);
    while (!ended) {
      const i = next;
      next += window;
      if ((await file.readWordsAsync(i, window, buf)) < window) ended = true;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, reader));
}

const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function timed<T>(trace: CaptureOptions["trace"], phase: string, f: () => T): T {
  const t0 = performance.now();
  const r = f();
  trace?.(phase, performance.now() - t0);
  return r;
}

export async function takeCapture(o: CaptureOptions): Promise<CaptureResult> {
  const rec = new RecordingBackend();
  const root = o.root ?? "/proc";
  const procfs = new ProcFs({ root, sysRoot: o.sysRoot, backend: rec });
  procfs.checkRoot();
  const notRecorded: string[] = [];

  // 1. The scan the process views make, with every page looked up (exact) and, when the kernel has it, its cgroup.
  const kernel = probeKernel(procfs);
  const cgroups = kernel.features.kpagecgroup.available;
  const scan: Scan = await scanSystem(procfs, {
    pids: o.pids,
    exact: true,
    cgroups,
    pageFlags: "all",
    passwdFile: o.passwdFile,
    onProgress: o.onProgress,
    trace: o.trace,
  });
  if (!cgroups) notRecorded.push(`kpagecgroup (${kernel.features.kpagecgroup.note ?? "unavailable"}): groups --charges cannot be answered`);

  // The whole kpageflags (for system and flags), read on the I/O threads while steps 2 and 3 run.
  // Measured on the reference workload: ~0.5 s of kernel time that no longer adds to the capture's.
  let flagsFile: U64File | undefined;
  let flagsRead: Promise<void> = Promise.resolve();
  if (kernel.features.kpageflags.available) {
    flagsFile = procfs.openU64("kpageflags");
    flagsRead = readAllWords(flagsFile, WINDOW, 2);
  }

  // 2. Per process: the text files the other views read, and pagemap of every mapping the scan did not read.
  const pageSize = kernel.pageSize;
  let mapped = 0;
  // The scan looked up every page it read (exact); pages of mappings it did not read are looked up here.
  const gapPfns: number[] = [];
  const t2 = performance.now();
  {
    const buf = new Uint8Array(WINDOW * 8);
    let n = 0;
    for (const p of scan.processes) {
      // Let the kpageflags reads' completions run (and start the next ones).
      if (++n % 8 === 0) await yieldToIo();
      const pid = p.info.pid;
      for (const f of ["stat", "smaps", "smaps_rollup", "cmdline", "cgroup", "maps"]) {
        try {
          procfs.readText(`${pid}/${f}`, pid);
        } catch (err) {
          if (!(err instanceof ProcessGoneError || err instanceof ProcReadError || (err instanceof Error && err.name === "PermissionError"))) throw err;
        }
      }
      procfs.ownerOf(pid);
      if (p.state !== "ok" || p.source !== "pagemap") continue;
      let vmas;
      try {
        vmas = parseMaps(procfs.readText(`${pid}/maps`, pid), procfs.path(pid, "maps"));
      } catch {
        continue;
      }
      const name = procfs.path(pid, "pagemap");
      const wr = rec.words.get(name);
      const cov = wr ? wr.words.covered() : [];
      let file;
      try {
        file = procfs.openU64(`${pid}/pagemap`, pid);
      } catch {
        continue;
      }
      try {
        for (const v of vmas) {
          const s = Math.floor(v.start / pageSize);
          const e = Math.ceil(v.end / pageSize);
          if (e > 2 ** 52 / pageSize) continue; // [vsyscall] and kernel addresses: pagemap has nothing there
          mapped += v.end - v.start;
          for (const [gs, ge] of gaps(cov, s, e)) readRange(file, gs, ge, buf, gapPfns);
        }
      } catch (err) {
        if (!(err instanceof ProcessGoneError)) throw err;
      } finally {
        file.close();
      }
    }
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

  // 4. kpagecount and kpagecgroup of every PFN any recorded pagemap word names; the whole kpageflags.
  const t4 = performance.now();
  try {
    await flagsRead;
  } finally {
    flagsFile?.close();
  }
  o.trace?.("capture: waiting for kpageflags", performance.now() - t4);
  timed(o.trace, "capture: kpage files", () => {
    const all = Float64Array.from(gapPfns).sort();
    const buf = new Uint8Array(WINDOW * 8);
    const names = ["kpagecount", ...(cgroups ? ["kpagecgroup"] : [])];
    if (!kernel.features.kpagecount.available) notRecorded.push(`kpagecount, kpageflags (${kernel.features.kpagecount.note ?? "unavailable"}): page-level numbers come from smaps_rollup, as they would on the machine`);
    else {
      for (const n of names) {
        const file = procfs.openU64(n);
        try {
          const cov = rec.words.get(procfs.path(n))?.words.covered() ?? [];
          let ci = 0;
          for (let i = 0; i < all.length; ) {
            // One read per run of PFNs not yet recorded, windows at most WINDOW words.
            const pfn = all[i]!;
            while (ci < cov.length && cov[ci]![1] <= pfn) ci++;
            if (ci < cov.length && cov[ci]![0] <= pfn) {
              i++;
              continue;
            }
            let j = i;
            while (j + 1 < all.length && all[j + 1]! - pfn < WINDOW && !(ci < cov.length && cov[ci]![0] <= all[j + 1]!)) j++;
            readRange(file, pfn, all[j]! + 1, buf);
            i = j + 1;
          }
        } finally {
          file.close();
        }
      }
    }
  });

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

  const bytes = timed(o.trace, "capture: encode and compress", () => {
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
      out: writeCapture({
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
            "per process: stat, status, cmdline, cgroup, maps, smaps, smaps_rollup, and pagemap over every mapping",
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
  });
  return { bytes: bytes.out, processes: scan.processes.length, mappedBytes: mapped, wordsRecorded: bytes.recorded, notRecorded };
}
