/**
 * Fixture procfs trees, materialised at test time in a temporary directory:
 *
 *   <base>/passwd                       (for --passwd)
 *   <base>/proc/meminfo, swaps, config.gz, sys/kernel/osrelease
 *   <base>/proc/kpagecount, kpageflags, kpagecgroup   (sparse, PFN-indexed)
 *   <base>/proc/<pid>/status, cmdline, comm, cgroup, maps, smaps, smaps_rollup, pagemap (sparse)
 *
 * Text files follow the kernel's own formats (fs/proc/task_mmu.c, fs/proc/array.c,
 * fs/proc/meminfo.c, mm/swapfile.c). Binary files are written sparse, so a
 * stack at 0x7ffd... costs a few bytes on disk. The tree's ProcFs has no
 * sysRoot, so KSM is considered idle and THP mode unknown.
 *
 * Usage:
 *   const t = FixtureTree.create();
 *   const p = t.process(100, { name: "app", uid: 1000 });
 *   const heap = p.map({ start: 0x5000_0000, pages: 4, name: "[heap]" });
 *   p.fill(heap.start, 4, (i) => anonPte(0x1000 + i));
 *   t.pages(0x1000, 4, () => anonPage());
 *   const scan = scanSystem(t.procfs());
 *   t.cleanup();
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { ProcFs } from "../../src/procfs/procfs.js";
import {
  anonPage,
  anonPte,
  filePage,
  guardPte,
  hugetlbPage,
  migrationPte,
  PAGE_SIZE,
  page as makePage,
  PMD_PAGES,
  pte,
  swapPte,
  thpPage,
  uffdWpMarkerPte,
  wordOf,
  writeSparseWords,
  zeroPage,
  type KPage,
  type PageSpec,
  type Word,
} from "./pagemap-builder.js";

// ---------------------------------------------------------------------------
// kernel text formats

/** Kernel config for a 6.18 machine like the reference VM: precise mapcounts, no soft-dirty. */
export const DEFAULT_KERNEL_CONFIG = [
  "#",
  "# Automatically generated file; DO NOT EDIT.",
  "# Linux/x86 6.18.0 Kernel Configuration",
  "#",
  "CONFIG_PROC_PAGE_MONITOR=y",
  "CONFIG_MEMCG=y",
  "CONFIG_TRANSPARENT_HUGEPAGE=y",
  "CONFIG_HUGETLB_PAGE=y",
  "CONFIG_KSM=y",
  "CONFIG_USERFAULTFD=y",
  "CONFIG_PTE_MARKER_UFFD_WP=y",
  "CONFIG_PAGE_MAPCOUNT=y",
  "# CONFIG_NO_PAGE_MAPCOUNT is not set",
  "# CONFIG_MEM_SOFT_DIRTY is not set",
  "# CONFIG_IDLE_PAGE_TRACKING is not set",
  "# CONFIG_ANON_VMA_NAME is not set",
  "# CONFIG_MEMORY_FAILURE is not set",
  "# CONFIG_DEVICE_PRIVATE is not set",
  "",
].join("\n");

/** meminfo values in kB (HugePages_* are counts). */
export const DEFAULT_MEMINFO: Readonly<Record<string, number>> = {
  MemTotal: 24_576_000,
  MemFree: 16_000_000,
  MemAvailable: 20_000_000,
  Buffers: 100_000,
  Cached: 2_000_000,
  SwapCached: 0,
  Active: 1_500_000,
  Inactive: 1_200_000,
  SwapTotal: 1_048_572,
  SwapFree: 1_048_000,
  Dirty: 12,
  AnonPages: 800_000,
  Mapped: 300_000,
  Shmem: 50_000,
  AnonHugePages: 0,
  HugePages_Total: 0,
  HugePages_Free: 0,
  HugePages_Rsvd: 0,
  HugePages_Surp: 0,
  Hugepagesize: 2048,
  Hugetlb: 0,
};

/** /proc/meminfo as fs/proc/meminfo.c prints it (show_val_kb: 16-column label, 8-wide value). */
export function formatMeminfo(values: Readonly<Record<string, number>>): string {
  let out = "";
  for (const [k, v] of Object.entries(values)) {
    if (k.startsWith("HugePages_")) out += `${(k + ":").padEnd(16)}${String(v).padStart(8)}\n`;
    else out += `${(k + ":").padEnd(16)}${String(v).padStart(8)} kB\n`;
  }
  return out;
}

export interface SwapAreaSpec {
  readonly filename: string;
  readonly kind?: "partition" | "file";
  readonly sizeKb: number;
  readonly usedKb?: number;
  readonly priority?: number;
}

/** /proc/swaps as mm/swapfile.c swap_show prints it. */
export function formatSwaps(areas: readonly SwapAreaSpec[]): string {
  let out = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
  for (const a of areas) {
    const name = a.filename.replaceAll(" ", "\\040");
    const pad = " ".repeat(name.length < 40 ? 40 - name.length : 1);
    const used = a.usedKb ?? 0;
    out +=
      `${name}${pad}${a.kind === "file" ? "file\t" : "partition"}\t${a.sizeKb}\t${a.sizeKb < 10_000_000 ? "\t" : ""}` +
      `${used}\t${used < 10_000_000 ? "\t" : ""}${a.priority ?? -2}\n`;
  }
  return out;
}

export interface VmaSpec {
  /** Start address; a bigint for addresses above 2^53 ([vsyscall]). */
  readonly start: number | bigint;
  /** End address (exclusive); or give `pages`. */
  readonly end?: number | bigint;
  readonly pages?: number;
  /** Four characters, default "rw-p". */
  readonly perms?: string;
  readonly offset?: number;
  /** "major:minor" in hex, default "00:00". */
  readonly dev?: string;
  readonly inode?: number;
  /** "" (default) for unnamed anonymous memory. */
  readonly name?: string;
  /** This mapping's smaps fields other than Size (kB); missing ones print as 0. */
  readonly smaps?: Readonly<Record<string, number>>;
  /** VmFlags codes; default from perms. */
  readonly vmFlags?: readonly string[];
}

/** A mapping as added to a process: addresses resolved. */
export interface Mapping {
  readonly start: number;
  readonly end: number;
  readonly startBig: bigint;
  readonly endBig: bigint;
  readonly perms: string;
  readonly offset: number;
  readonly dev: string;
  readonly inode: number;
  readonly name: string;
  readonly smaps: Readonly<Record<string, number>>;
  readonly vmFlags: readonly string[];
  /** The line as /proc/PID/maps shows it (no newline). */
  readonly line: string;
}

const hex8 = (n: bigint): string => n.toString(16).padStart(8, "0");

/**
 * One /proc/PID/maps line as show_vma_header_prefix + show_map_vma print it:
 * "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " padded with seq_pad to column
 * 72 and one more space before a name; a line without a name ends in "0 ".
 * Only "\n" in names is escaped (as \012).
 */
export function formatMapsLine(v: { start: number | bigint; end: number | bigint; perms?: string; offset?: number; dev?: string; inode?: number; name?: string }): string {
  let s = `${hex8(BigInt(v.start))}-${hex8(BigInt(v.end))} ${v.perms ?? "rw-p"} ${hex8(BigInt(v.offset ?? 0))} ${v.dev ?? "00:00"} ${v.inode ?? 0} `;
  const name = v.name ?? "";
  if (name !== "") s = s.padEnd(72, " ") + " " + name.replaceAll("\n", "\\012");
  return s;
}

/** The default VmFlags for a mapping's permissions. */
function defaultVmFlags(perms: string): string[] {
  const f: string[] = [];
  if (perms[0] === "r") f.push("rd");
  if (perms[1] === "w") f.push("wr");
  if (perms[2] === "x") f.push("ex");
  if (perms[3] === "s") f.push("sh");
  f.push("mr", "mw", "me");
  if (perms[3] === "s") f.push("ms");
  return f;
}

/** smaps fields per VMA, in the order of 6.18's __show_smap (kB), before THPeligible/VmFlags. */
export const SMAPS_FIELDS = [
  "Rss",
  "Pss",
  "Pss_Dirty",
  "Shared_Clean",
  "Shared_Dirty",
  "Private_Clean",
  "Private_Dirty",
  "Referenced",
  "Anonymous",
  "KSM",
  "LazyFree",
  "AnonHugePages",
  "ShmemPmdMapped",
  "FilePmdMapped",
  "Shared_Hugetlb",
  "Private_Hugetlb",
  "Swap",
  "SwapPss",
  "Locked",
] as const;

/** smaps_rollup fields (kB): the per-VMA ones plus Pss_Anon/File/Shmem after Pss_Dirty. */
export const ROLLUP_FIELDS: readonly string[] = [...SMAPS_FIELDS.slice(0, 3), "Pss_Anon", "Pss_File", "Pss_Shmem", ...SMAPS_FIELDS.slice(3)];

/** SEQ_PUT_DEC: a 16-column label and an 8-wide value, then " kB". */
function kbLine(name: string, kb: number): string {
  return `${(name + ":").padEnd(16)}${String(kb).padStart(8)} kB\n`;
}

export function formatSmapsEntry(m: Mapping): string {
  let out = m.line + "\n";
  out += kbLine("Size", Number((m.endBig - m.startBig) / 1024n));
  const kps = m.smaps["KernelPageSize"] ?? 4;
  out += kbLine("KernelPageSize", kps);
  out += kbLine("MMUPageSize", m.smaps["MMUPageSize"] ?? kps);
  for (const f of SMAPS_FIELDS) out += kbLine(f, m.smaps[f] ?? 0);
  out += `THPeligible:    ${m.smaps["THPeligible"] ?? 0}\n`;
  out += `VmFlags: ${m.vmFlags.join(" ")} \n`;
  return out;
}

// ---------------------------------------------------------------------------
// processes

export interface ProcessSpec {
  readonly ppid?: number;
  readonly uid?: number;
  /** comm / status Name (the kernel truncates to 15 characters). */
  readonly name?: string;
  /** Default: [`/usr/bin/<name>`]. Empty for kernel threads. */
  readonly cmdline?: readonly string[];
  /** Memory cgroup path for the cgroup file (v2 "0::<path>"). */
  readonly cgroup?: string;
  /** Kernel thread: no Vm* lines in status, empty cmdline and maps, no pagemap or smaps_rollup. */
  readonly kernelThread?: boolean;
  /** VmRSS in kB for status (default: the sum of the mappings' smaps Rss). */
  readonly vmRssKb?: number;
}

export type ProcessFile = "status" | "cmdline" | "comm" | "cgroup" | "maps" | "smaps" | "smaps_rollup" | "pagemap";

export class FixtureProcess {
  readonly mappings: Mapping[] = [];
  /** Pagemap entries by virtual page number. */
  readonly entries = new Map<number, Word>();
  private rollupFields: Record<string, number> | undefined;
  private readonly overrides = new Map<ProcessFile, string>();
  private readonly omitted = new Set<ProcessFile>();
  /** Pagemap length in words; default: up to the highest mapping end below 2^53. */
  pagemapWords: number | undefined;

  constructor(
    readonly pid: number,
    readonly spec: ProcessSpec,
  ) {}

  get name(): string {
    return this.spec.name ?? `proc${this.pid}`;
  }

  get cmdline(): readonly string[] {
    if (this.spec.kernelThread) return [];
    return this.spec.cmdline ?? [`/usr/bin/${this.name}`];
  }

  /** Add a mapping (in address order, as the kernel lists them). */
  map(v: VmaSpec): Mapping {
    const startBig = BigInt(v.start);
    let endBig: bigint;
    if (v.end !== undefined) endBig = BigInt(v.end);
    else if (v.pages !== undefined) endBig = startBig + BigInt(v.pages * PAGE_SIZE);
    else throw new Error("map(): give end or pages");
    const last = this.mappings[this.mappings.length - 1];
    if (last && startBig < last.endBig) throw new Error(`map(): ${startBig.toString(16)} overlaps or precedes the previous mapping`);
    const perms = v.perms ?? "rw-p";
    const m: Mapping = {
      start: Number(startBig),
      end: Number(endBig),
      startBig,
      endBig,
      perms,
      offset: v.offset ?? 0,
      dev: v.dev ?? "00:00",
      inode: v.inode ?? 0,
      name: v.name ?? "",
      smaps: v.smaps ?? {},
      vmFlags: v.vmFlags ?? defaultVmFlags(perms),
      line: formatMapsLine({ ...v, start: startBig, end: endBig }),
    };
    this.mappings.push(m);
    return m;
  }

  /** The [vsyscall] gate page at 0xffffffffff600000 (above TASK_SIZE: pagemap has nothing for it). */
  vsyscall(): Mapping {
    return this.map({ start: 0xffffffffff600000n, end: 0xffffffffff601000n, perms: "--xp", name: "[vsyscall]", vmFlags: ["ex"] });
  }

  /** Set the pagemap entry of the page at `vaddr`. */
  set(vaddr: number, w: Word): this {
    if (vaddr % PAGE_SIZE !== 0) throw new Error(`set(): ${vaddr.toString(16)} is not page-aligned`);
    const vpn = vaddr / PAGE_SIZE;
    if (w.lo === 0 && w.hi === 0) this.entries.delete(vpn);
    else this.entries.set(vpn, w);
    return this;
  }

  /** Set `n` consecutive entries from `vaddr`: entry i is fn(i) (undefined leaves a hole). */
  fill(vaddr: number, n: number, fn: (i: number) => Word | undefined): this {
    for (let i = 0; i < n; i++) {
      const w = fn(i);
      if (w) this.set(vaddr + i * PAGE_SIZE, w);
    }
    return this;
  }

  /** smaps_rollup fields in kB (missing ones 0). Default: the sum of the mappings' smaps fields. */
  rollup(fields: Readonly<Record<string, number>>): this {
    this.rollupFields = { ...fields };
    return this;
  }

  /** Replace a file's content with raw text (malformed input). */
  override(file: ProcessFile, text: string): this {
    this.overrides.set(file, text);
    return this;
  }

  /** Do not write these files at all. */
  omit(...files: ProcessFile[]): this {
    for (const f of files) this.omitted.add(f);
    return this;
  }

  statusText(): string {
    const s = this.spec;
    const uid = s.uid ?? 0;
    const lines = [
      `Name:\t${this.name.slice(0, 15)}`,
      "Umask:\t0022",
      `State:\t${s.kernelThread ? "I (idle)" : "S (sleeping)"}`,
      `Tgid:\t${this.pid}`,
      "Ngid:\t0",
      `Pid:\t${this.pid}`,
      `PPid:\t${s.ppid ?? (s.kernelThread ? 2 : 1)}`,
      "TracerPid:\t0",
      `Uid:\t${uid}\t${uid}\t${uid}\t${uid}`,
      `Gid:\t${uid}\t${uid}\t${uid}\t${uid}`,
      "FDSize:\t64",
      "Groups:\t",
    ];
    if (!s.kernelThread) {
      let vm = 0n;
      for (const m of this.mappings) if (m.name !== "[vsyscall]") vm += m.endBig - m.startBig;
      const rss = s.vmRssKb ?? this.mappings.reduce((a, m) => a + (m.smaps["Rss"] ?? 0), 0);
      lines.push(`VmPeak:\t${String(vm / 1024n).padStart(8)} kB`, `VmSize:\t${String(vm / 1024n).padStart(8)} kB`, `VmRSS:\t${String(rss).padStart(8)} kB`);
    }
    lines.push("Threads:\t1", "voluntary_ctxt_switches:\t10", "nonvoluntary_ctxt_switches:\t1");
    return lines.join("\n") + "\n";
  }

  mapsText(): string {
    return this.mappings.map((m) => m.line + "\n").join("");
  }

  smapsText(): string {
    return this.mappings.map(formatSmapsEntry).join("");
  }

  rollupText(): string {
    const inRange = this.mappings.filter((m) => m.name !== "[vsyscall]");
    const first = inRange[0];
    const last = inRange[inRange.length - 1];
    const header = formatMapsLine({ start: first?.startBig ?? 0n, end: last?.endBig ?? 0n, perms: "---p", name: "[rollup]" });
    let fields = this.rollupFields;
    if (!fields) {
      fields = {};
      for (const m of inRange) for (const [k, v] of Object.entries(m.smaps)) fields[k] = (fields[k] ?? 0) + v;
    }
    let out = header + "\n";
    for (const f of ROLLUP_FIELDS) out += kbLine(f, fields[f] ?? 0);
    return out;
  }

  /** Write this process's directory under `root`. */
  write(root: string): void {
    const dir = path.join(root, String(this.pid));
    fs.mkdirSync(dir, { recursive: true });
    const text = (file: ProcessFile, make: () => string): void => {
      if (this.omitted.has(file)) return;
      fs.writeFileSync(path.join(dir, file), this.overrides.get(file) ?? make());
    };
    text("status", () => this.statusText());
    text("cmdline", () => this.cmdline.map((a) => a + "\0").join(""));
    text("comm", () => this.name.slice(0, 15) + "\n");
    text("cgroup", () => `0::${this.spec.cgroup ?? (this.spec.kernelThread ? "/" : "/user.slice")}\n`);
    text("maps", () => this.mapsText());
    text("smaps", () => this.smapsText());
    if (!this.spec.kernelThread || this.overrides.has("smaps_rollup")) text("smaps_rollup", () => this.rollupText());
    if (this.omitted.has("pagemap") || (this.spec.kernelThread && this.entries.size === 0)) return;
    const override = this.overrides.get("pagemap");
    if (override !== undefined) {
      fs.writeFileSync(path.join(dir, "pagemap"), override);
      return;
    }
    let words = this.pagemapWords;
    if (words === undefined) {
      words = 0;
      for (const m of this.mappings) if (m.endBig < 2n ** 53n) words = Math.max(words, m.end / PAGE_SIZE);
      for (const vpn of this.entries.keys()) words = Math.max(words, vpn + 1);
    }
    writeSparseWords(path.join(dir, "pagemap"), words, this.entries);
  }
}

// ---------------------------------------------------------------------------
// the tree

export interface FixtureOptions {
  /** Contents of sys/kernel/osrelease; null: no file. Default "6.18.0". */
  readonly osrelease?: string | null;
  /** Kernel config text, gzipped into config.gz; null: no file. Default DEFAULT_KERNEL_CONFIG. */
  readonly config?: string | null;
  /** meminfo values (kB) or raw text; null: no file. Default DEFAULT_MEMINFO. */
  readonly meminfo?: Readonly<Record<string, number>> | string | null;
  /** Swap areas or raw text; null: no file. Default: one 1 GiB partition. */
  readonly swaps?: readonly SwapAreaSpec[] | string | null;
  /** Write kpagecount and kpageflags (false simulates an unprivileged reader). Default true. */
  readonly kpage?: boolean;
  /** Write kpagecgroup. Default: same as `kpage`. */
  readonly kpagecgroup?: boolean;
  /** Length of the kpage files in PFNs. Default: one past the highest PFN set, rounded up to 32768 (a memory section). */
  readonly kpageWords?: number;
}

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
}

export const DEFAULT_PASSWD: readonly PasswdEntry[] = [
  { name: "root", uid: 0 },
  { name: "daemon", uid: 1 },
  { name: "alice", uid: 1000 },
  { name: "bob", uid: 1001 },
];

const SECTION_PAGES = 32768;

/**
 * Trees not yet cleaned up. Every test removes its trees in an after hook;
 * this is the net under a test that fails before it gets there (or forgets):
 * no run leaves a /tmp/pagelens-fixture-* directory behind.
 */
const live = new Set<FixtureTree>();
let exitHook = false;
function track(t: FixtureTree): void {
  live.add(t);
  if (exitHook) return;
  exitHook = true;
  process.on("exit", () => {
    for (const tree of [...live]) tree.cleanup();
  });
}

export class FixtureTree {
  /** The temporary directory holding everything (removed by cleanup()). */
  readonly base: string;
  /** The procfs root (what --root takes). */
  readonly root: string;
  readonly processes = new Map<number, FixtureProcess>();
  /** kpage values by PFN. */
  readonly kpages = new Map<number, KPage>();
  private readonly extraText = new Map<string, string>();
  private readonly sysText = new Map<string, string>();

  private constructor(readonly options: FixtureOptions) {
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), "pagelens-fixture-"));
    this.root = path.join(this.base, "proc");
    fs.mkdirSync(this.root);
    track(this);
  }

  static create(options: FixtureOptions = {}): FixtureTree {
    return new FixtureTree(options);
  }

  /** Add a process (or return the one with this pid). */
  process(pid: number, spec: ProcessSpec = {}): FixtureProcess {
    let p = this.processes.get(pid);
    if (!p) {
      p = new FixtureProcess(pid, spec);
      this.processes.set(pid, p);
    }
    return p;
  }

  /** A kernel thread: empty maps and cmdline, no Vm* lines. */
  kernelThread(pid: number, name: string): FixtureProcess {
    return this.process(pid, { name, kernelThread: true, ppid: 2 });
  }

  /** Set the kpage values of one PFN. */
  page(pfn: number, p: KPage | PageSpec): this {
    if (!Number.isSafeInteger(pfn) || pfn <= 0) throw new RangeError(`bad PFN ${pfn}`);
    this.kpages.set(pfn, "flags" in p && typeof p.flags === "object" && !Array.isArray(p.flags) ? (p as KPage) : makePage(p as PageSpec));
    return this;
  }

  /** Set the kpage values of PFNs pfn..pfn+n-1: fn(i) for the i-th. */
  pages(pfn: number, n: number, fn: (i: number) => KPage): this {
    for (let i = 0; i < n; i++) this.page(pfn + i, fn(i));
    return this;
  }

  /** Any other file under the root (relative path), e.g. "vmstat". */
  text(rel: string, content: string): this {
    this.extraText.set(rel, content);
    return this;
  }

  /** The sysfs root next to the procfs root (only used when sys() was called). */
  get sysRoot(): string {
    return path.join(this.base, "sys");
  }

  /** A file under the sysfs root, e.g. sys("kernel/mm/ksm/pages_sharing", "42\n"). */
  sys(rel: string, content: string): this {
    this.sysText.set(rel, content);
    return this;
  }

  /** Write a passwd file next to the root; returns its path (for --passwd). */
  writePasswd(entries: readonly PasswdEntry[] = DEFAULT_PASSWD): string {
    const file = path.join(this.base, "passwd");
    fs.writeFileSync(file, entries.map((e) => `${e.name}:x:${e.uid}:${e.uid}:${e.name}:/home/${e.name}:/bin/sh\n`).join(""));
    return file;
  }

  /** Materialise everything under `root` (may be called again after changes). */
  write(): this {
    const o = this.options;
    const put = (rel: string, content: string | Buffer): void => {
      const file = path.join(this.root, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    };
    const osrelease = o.osrelease === undefined ? "6.18.0" : o.osrelease;
    if (osrelease !== null) put("sys/kernel/osrelease", osrelease + "\n");
    const config = o.config === undefined ? DEFAULT_KERNEL_CONFIG : o.config;
    if (config !== null) put("config.gz", gzipSync(Buffer.from(config)));
    const meminfo = o.meminfo === undefined ? DEFAULT_MEMINFO : o.meminfo;
    if (meminfo !== null) put("meminfo", typeof meminfo === "string" ? meminfo : formatMeminfo(meminfo));
    const swaps = o.swaps === undefined ? [{ filename: "/dev/vda2", sizeKb: 1_048_572, usedKb: 572 }] : o.swaps;
    if (swaps !== null) put("swaps", typeof swaps === "string" ? swaps : formatSwaps(swaps));
    for (const [rel, content] of this.extraText) put(rel, content);
    for (const [rel, content] of this.sysText) {
      const file = path.join(this.sysRoot, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
    }

    let maxPfn = 0;
    for (const pfn of this.kpages.keys()) maxPfn = Math.max(maxPfn, pfn);
    const words = o.kpageWords ?? Math.ceil((maxPfn + 1) / SECTION_PAGES) * SECTION_PAGES;
    const kpage = o.kpage !== false;
    const entriesOf = (get: (p: KPage) => Word): Iterable<[number, Word]> => [...this.kpages].map(([pfn, p]) => [pfn, get(p)] as [number, Word]);
    if (kpage) {
      writeSparseWords(path.join(this.root, "kpagecount"), words, entriesOf((p) => wordOf(p.count)));
      writeSparseWords(path.join(this.root, "kpageflags"), words, entriesOf((p) => p.flags));
    }
    if (o.kpagecgroup ?? kpage) writeSparseWords(path.join(this.root, "kpagecgroup"), words, entriesOf((p) => wordOf(p.cgroup)));

    for (const p of this.processes.values()) p.write(this.root);
    return this;
  }

  /**
   * A ProcFs on this tree (writes it first). Without `withSys` it has no
   * sysRoot: KSM idle, THP mode unknown. With it, the files given to sys().
   */
  procfs(options: { withSys?: boolean } = {}): ProcFs {
    this.write();
    return new ProcFs({ root: this.root, sysRoot: options.withSys ? this.sysRoot : undefined });
  }

  cleanup(): void {
    live.delete(this);
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// the CLI

export interface Captured {
  readonly io: { stdout: (t: string) => void; stderr: (t: string) => void; stderrIsTty: boolean; stdoutColumns?: number; env: Record<string, string | undefined> };
  readonly out: () => string;
  readonly err: () => string;
}

/** A CliIo that captures stdout and stderr; `stdoutColumns` makes stdout a fake terminal of that width. */
export function captureIo(env: Record<string, string | undefined> = {}, stdoutColumns?: number): Captured {
  let out = "";
  let err = "";
  return {
    io: {
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        err += t;
      },
      stderrIsTty: false,
      stdoutColumns,
      env,
    },
    out: () => out,
    err: () => err,
  };
}

// ---------------------------------------------------------------------------
// a sample machine with one process per accounting case

/** PFNs used by sampleSystem(), so tests can name them. */
export const SAMPLE = {
  /** pid 100: 5 heap pages + 1 stack page, private anonymous (exclusive, count 1). */
  privatePid: 100,
  privateHeap: 0x5555_5600_0000,
  privateStack: 0x7ffd_1234_0000,
  privatePfn: 0x1000,
  /** kpagecgroup inode of pid 100's pages. */
  privateCgroup: 5876,
  /** pids 200/201: after fork, 4 COW-shared anon pages (count 2) + 1 private page each. */
  forkParent: 200,
  forkChild: 201,
  forkHeap: 0x5555_5700_0000,
  sharedPfn: 0x2000,
  parentPrivatePfn: 0x2100,
  childPrivatePfn: 0x2101,
  /** pids 300-302: one libc text page mapped by all three (count 3). */
  libPids: [300, 301, 302] as const,
  libcText: 0x7f00_0000_0000,
  libcPfn: 0x3000,
  /** pid 400: 3 read-faulted zero-page PTEs + 1 private anon page. */
  zeroPid: 400,
  zeroHeap: 0x5555_5800_0000,
  zeroPfn: 0x3b34,
  zeroPrivatePfn: 0x3c00,
  /** pid 500: one private 2 MiB MAP_HUGETLB page. */
  hugetlbPid: 500,
  hugetlbAddr: 0x7f10_0000_0000,
  hugetlbPfn: 0x40000,
  /** pid 600: a PMD-mapped THP, pagemap says exclusive on all 512 entries, kpagecount 2 on pages 1-511 (6.15 quirk). */
  thpPid: 600,
  thpAddr: 0x7f20_0040_0000,
  thpPfn: 0x80000,
  /** pid 700: 3 swapped pages (type 0, offsets 7-9), 1 guard marker, 1 uffd-wp marker, 1 migration entry. */
  swapPid: 700,
  swapHeap: 0x5555_5900_0000,
  migrationPfn: 0x5000,
  /** pid 800: one private anon page and the [vsyscall] gate. */
  vsyscallPid: 800,
  vsyscallHeap: 0x5555_5a00_0000,
  vsyscallPfn: 0x6000,
  /** pid 2: a kernel thread. */
  kthreadPid: 2,
} as const;

/**
 * A machine with one process per accounting case (see SAMPLE). Call
 * tree.write() (or tree.procfs()) before use and tree.cleanup() after.
 */
export function sampleSystem(options: FixtureOptions = {}): FixtureTree {
  const S = SAMPLE;
  const t = FixtureTree.create(options);
  t.kernelThread(S.kthreadPid, "kthreadd");

  // Private anonymous pages.
  {
    const p = t.process(S.privatePid, { name: "private", uid: 1000, cmdline: ["/usr/bin/private", "--serve"], ppid: 1 });
    p.map({ start: 0x5555_5555_4000, pages: 2, perms: "r-xp", dev: "fd:01", inode: 131_090, name: "/usr/bin/private" });
    const heap = p.map({ start: S.privateHeap, pages: 8, name: "[heap]", smaps: { Rss: 20, Pss: 20, Private_Dirty: 20, Anonymous: 20 } });
    const stack = p.map({ start: S.privateStack, pages: 33, name: "[stack]", smaps: { Rss: 4, Pss: 4, Private_Dirty: 4, Anonymous: 4 } });
    p.fill(heap.start, 5, (i) => anonPte(S.privatePfn + i));
    p.set(stack.end - PAGE_SIZE, anonPte(S.privatePfn + 5));
    t.pages(S.privatePfn, 6, () => anonPage(1, S.privateCgroup));
  }

  // fork(): COW-shared anonymous pages.
  for (const pid of [S.forkParent, S.forkChild]) {
    const p = t.process(pid, { name: "forker", uid: 1001, ppid: pid === S.forkChild ? S.forkParent : 1, cmdline: ["forker", pid === S.forkChild ? "--child" : "--parent"] });
    const heap = p.map({ start: S.forkHeap, pages: 16, name: "[heap]" });
    p.fill(heap.start, 4, (i) => pte({ pfn: S.sharedPfn + i }));
    p.set(heap.start + 8 * PAGE_SIZE, anonPte(pid === S.forkParent ? S.parentPrivatePfn : S.childPrivatePfn));
  }
  t.pages(S.sharedPfn, 4, () => anonPage(2));
  t.page(S.parentPrivatePfn, anonPage(1));
  t.page(S.childPrivatePfn, anonPage(1));

  // A library page mapped by three processes.
  for (const pid of S.libPids) {
    const p = t.process(pid, { name: `lib${pid}`, uid: 0, cmdline: [`/usr/sbin/lib${pid}`] });
    p.map({ start: S.libcText, pages: 4, perms: "r-xp", offset: 0x28000, dev: "fd:01", inode: 2_621_569, name: "/usr/lib/x86_64-linux-gnu/libc.so.6" });
    p.set(S.libcText, pte({ pfn: S.libcPfn, file: true }));
  }
  t.page(S.libcPfn, filePage(3));

  // Zero pages.
  {
    const p = t.process(S.zeroPid, { name: "zero", uid: 1000 });
    const heap = p.map({ start: S.zeroHeap, pages: 8, name: "" });
    p.fill(heap.start, 3, () => pte({ pfn: S.zeroPfn }));
    p.set(heap.start + 4 * PAGE_SIZE, anonPte(S.zeroPrivatePfn));
    t.page(S.zeroPfn, zeroPage());
    t.page(S.zeroPrivatePfn, anonPage(1));
  }

  // hugetlb.
  {
    const p = t.process(S.hugetlbPid, { name: "hugetlb", uid: 1000 });
    p.map({ start: S.hugetlbAddr, pages: PMD_PAGES, dev: "00:10", inode: 40_123, name: "/anon_hugepage (deleted)", vmFlags: ["rd", "wr", "mr", "mw", "me", "ht"] });
    p.fill(S.hugetlbAddr, PMD_PAGES, (i) => anonPte(S.hugetlbPfn + i));
    t.pages(S.hugetlbPfn, PMD_PAGES, (i) => hugetlbPage(i, 1));
  }

  // PMD-mapped THP with the 6.15 head-page exclusivity quirk.
  {
    const p = t.process(S.thpPid, { name: "thp", uid: 1000 });
    p.map({ start: S.thpAddr, pages: PMD_PAGES, name: "" });
    p.fill(S.thpAddr, PMD_PAGES, (i) => anonPte(S.thpPfn + i));
    t.pages(S.thpPfn, PMD_PAGES, (i) => thpPage(i, i === 0 ? 1 : 2));
  }

  // Swap, markers and a migration entry.
  {
    const p = t.process(S.swapPid, { name: "swapper", uid: 1001 });
    // The kernel's smaps agrees: 3 slots, each referenced once (single-process scans take SwapPss from it).
    const heap = p.map({ start: S.swapHeap, pages: 16, name: "[heap]", smaps: { Swap: 12, SwapPss: 12 } });
    p.fill(heap.start, 3, (i) => swapPte({ type: 0, offset: 7 + i }));
    p.set(heap.start + 4 * PAGE_SIZE, guardPte());
    p.set(heap.start + 5 * PAGE_SIZE, uffdWpMarkerPte());
    p.set(heap.start + 6 * PAGE_SIZE, migrationPte(29, S.migrationPfn));
  }

  // [vsyscall].
  {
    const p = t.process(S.vsyscallPid, { name: "vsys", uid: 0 });
    const heap = p.map({ start: S.vsyscallHeap, pages: 4, name: "[heap]" });
    p.vsyscall();
    p.set(heap.start, anonPte(S.vsyscallPfn));
    t.page(S.vsyscallPfn, anonPage(1));
  }
  return t;
}
