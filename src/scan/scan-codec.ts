/**
 * A scan (scan-data.ts ScanData) as bytes and back: `decodeScan(encodeScan(s))`
 * gives a value every report reads exactly as it reads `s`
 * (test/fixture/scan-codec.test.ts). Pure functions of bytes: no file is read.
 *
 * Layout, little-endian:
 *
 *   0   "PLSCAN\n\0"                 8 bytes of magic
 *   8   u32 version                  SCAN_DATA_VERSION
 *   12  u32 H                        bytes of the header
 *   16  header                       UTF-8 JSON: the records (kernel, meminfo, notes,
 *                                    processes with their mappings) and every column's length
 *   ..  columns                      each at an 8-byte aligned offset, in COLUMNS order
 *
 * The rank bases of the kpage index are not stored: decoding derives them
 * from the bitmaps (scan-data.ts rankBasesOf), so they cannot disagree.
 *
 * A buffer that is truncated, padded, of another version or hostile is
 * refused whole with a ScanFormatError (a ParseError: exit 3), never read
 * past its end: every length is checked against the buffer before anything
 * is allocated, so decoding allocates at most a small multiple of the
 * buffer's own size; and the cross-references reports rely on are checked
 * (ranges inside their columns, VMA indexes inside their process, usage rows
 * per mapping, every PFN of a run looked up, rank index consistent).
 */
import { NF } from "../accounting/usage.js";
import { ParseError } from "../errors.js";
import type { Feature, FeatureName, KernelInfo } from "../kernel/features.js";
import type { Vma, VmaKind } from "../parse/maps.js";
import type { Meminfo } from "../parse/meminfo.js";
import type { ProcessInfo } from "./process-info.js";
import {
  BLOCK_WORDS,
  kpageRanker,
  objectRunAt,
  rankBasesOf,
  RUN_CHUNK,
  type RunChunk,
  SCAN_DATA_VERSION,
  type IndexRange,
  type KpageValues,
  type LookupStats,
  type ProcessState,
  type ScanData,
  type ScannedProcess,
  type ScanObjects,
  type ScanRefs,
  type UsageSource,
} from "./scan-data.js";

const MAGIC = "PLSCAN\n\0";
const PREFIX = 16;
/** Block numbers of a 52-bit physical address space (2^40 page frames / 2^16). */
const MAX_BLOCKS = 1 << 24;

/** The encoded scan is truncated, corrupt, of another version or hostile: refused whole. */
export class ScanFormatError extends ParseError {
  constructor(file: string, reason: string) {
    super(file, undefined, `not a usable encoded pagelens scan: ${reason}`);
  }
}

type Kind = "f64" | "u32" | "u8";
const BYTES: Record<Kind, number> = { f64: 8, u32: 4, u8: 1 };

/** The columns after the header, in order; `n` is a count from the header. */
const COLUMNS = [
  ["usage", "f64"],
  ["runPfn", "f64"],
  ["swapSlot", "f64"],
  ["cgroup", "f64"],
  ["runLen", "u32"],
  ["runVma", "u32"],
  ["swapVma", "u32"],
  ["blocks", "u32"],
  ["bitmaps", "u32"],
  ["count", "u32"],
  ["flagsLo", "u32"],
  ["flagsHi", "u32"],
  ["runBits", "u8"],
  ["objFirst", "u32"],
  ["objOff", "f64"],
  ["objPfn", "f64"],
  ["objLen", "u32"],
  ["objBits", "u8"],
  ["refObject", "u32"],
  ["refOff", "f64"],
  ["refLen", "u32"],
  ["refVma", "u32"],
] as const satisfies readonly (readonly [string, Kind])[];
type ColumnName = (typeof COLUMNS)[number][0];

/** A mapping as a tuple: [start, end, range, perms, mayShare, offset, dev, inode, name, deleted, kind]. */
type VmaTuple = [number, number, string, string, boolean, number, string, number, string, boolean, VmaKind];

interface ProcessRecord {
  /** pid, ppid, uid, user, comm, cmdline, cgroup, vmRssBytes, vmSwapBytes, startTime (null for undefined). */
  readonly info: [number, number, number | null, string, string, string[], string | null, number | null, number | null, number | null];
  readonly state: ProcessState;
  readonly source: UsageSource;
  readonly reason: string | null;
  readonly vmas: VmaTuple[];
  /** Usage rows of this process in the usage column. */
  readonly rows: number;
  readonly runs: [number, number];
  readonly refs: [number, number];
  readonly swaps: [number, number];
}

interface Header {
  readonly takenAt: string;
  readonly durationMs: number;
  readonly kernel: KernelInfo;
  readonly meminfo: Meminfo | null;
  readonly mode: ScanData["mode"];
  readonly vanished: number[];
  readonly notFound: number[];
  readonly notes: string[];
  readonly lookup: LookupStats | null;
  readonly trustedExclusive: boolean;
  readonly trustedPids: number[];
  readonly runPages: number;
  readonly kpage: { readonly size: number; readonly beyondEnd: number; readonly partialFlags: boolean; readonly cgroup: boolean };
  readonly processes: ProcessRecord[];
  /** Entries of every column. */
  readonly lengths: Record<ColumnName, number>;
}

const opt = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

function vmaTuple(v: Vma): VmaTuple {
  return [v.start, v.end, v.range, v.perms, v.mayShare, v.offset, v.dev, v.inode, v.name, v.deleted, v.kind];
}

/** The scan as bytes (see the module comment for the layout). */
export function encodeScan(scan: ScanData): Uint8Array {
  const k = scan.kpage;
  let rows = 0;
  const processes: ProcessRecord[] = scan.processes.map((p) => {
    const i = p.info;
    const n = p.usage.length / NF;
    rows += n;
    return {
      info: [i.pid, i.ppid, opt(i.uid), i.user, i.comm, [...i.cmdline], opt(i.cgroup), opt(i.vmRssBytes), opt(i.vmSwapBytes), opt(i.startTime)],
      state: p.state,
      source: p.source,
      reason: opt(p.reason),
      vmas: p.vmas.map(vmaTuple),
      rows: n,
      runs: [p.runs.start, p.runs.end],
      refs: [p.refs.start, p.refs.end],
      swaps: [p.swaps.start, p.swaps.end],
    };
  });
  const usage = new Float64Array(rows * NF);
  let at = 0;
  for (const p of scan.processes) {
    usage.set(p.usage, at);
    at += p.usage.length;
  }
  const runChunks = scan.runs.chunks;
  const columns: Record<ColumnName, Float64Array | Uint32Array | Uint8Array | readonly (Float64Array | Uint32Array | Uint8Array)[]> = {
    usage,
    runPfn: runChunks.map((c) => c.pfn),
    swapSlot: scan.swaps.slot,
    cgroup: k.cgroup ?? new Float64Array(0),
    runLen: runChunks.map((c) => c.len),
    runVma: runChunks.map((c) => c.vma),
    swapVma: scan.swaps.vma,
    blocks: k.blocks,
    bitmaps: k.bitmaps,
    count: k.count,
    flagsLo: k.flagsLo,
    flagsHi: k.flagsHi,
    runBits: runChunks.map((c) => c.bits),
    objFirst: scan.objects.first,
    objOff: scan.objects.off,
    objPfn: scan.objects.pfn,
    objLen: scan.objects.len,
    objBits: scan.objects.bits,
    refObject: scan.refs.object,
    refOff: scan.refs.off,
    refLen: scan.refs.len,
    refVma: scan.refs.vma,
  };
  // A column is one typed array, or the run chunks written one after the other.
  const parts = (name: ColumnName): readonly (Float64Array | Uint32Array | Uint8Array)[] => {
    const c = columns[name];
    return ArrayBuffer.isView(c) ? [c] : c;
  };
  const lengths = Object.fromEntries(COLUMNS.map(([name]) => [name, parts(name).reduce((n, a) => n + a.length, 0)])) as Record<ColumnName, number>;
  const header: Header = {
    takenAt: scan.takenAt,
    durationMs: scan.durationMs,
    // JSON has no undefined: the optional facts as null, so that decoding restores their keys.
    kernel: { ...scan.kernel, version: scan.kernel.version ?? null, thpMode: scan.kernel.thpMode ?? null } as unknown as KernelInfo,
    meminfo: scan.meminfo ?? null,
    mode: scan.mode,
    vanished: [...scan.vanished],
    notFound: [...scan.notFound],
    notes: [...scan.notes],
    lookup: scan.lookup ?? null,
    trustedExclusive: scan.trustedExclusive,
    trustedPids: [...scan.trustedPids],
    runPages: scan.runs.pages,
    kpage: { size: k.size, beyondEnd: k.beyondEnd, partialFlags: k.partialFlags, cgroup: k.cgroup !== undefined },
    processes,
    lengths,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  let size = align8(PREFIX + json.length);
  for (const [name, kind] of COLUMNS) size = align8(size + lengths[name] * BYTES[kind]);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, SCAN_DATA_VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, PREFIX);
  let offset = align8(PREFIX + json.length);
  for (const [name] of COLUMNS) {
    // Typed arrays are in the machine's byte order; x86-64 and arm64 are little-endian, as the format is.
    for (const col of parts(name)) {
      out.set(new Uint8Array(col.buffer, col.byteOffset, col.byteLength), offset);
      offset += col.byteLength;
    }
    offset = align8(offset);
  }
  return out;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/* ---------- decoding: every value checked before it is trusted ---------- */

type Check = (why: string) => never;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
const isStr = (x: unknown): x is string => typeof x === "string";
const isBool = (x: unknown): x is boolean => typeof x === "boolean";
const orNull = <T>(f: (x: unknown) => x is T) => (x: unknown): x is T | null => x === null || f(x);
const listOf = <T>(f: (x: unknown) => x is T) => (x: unknown): x is T[] => Array.isArray(x) && x.every(f);

const STATES: readonly string[] = ["ok", "unreadable", "bad-input", "no-mm"];
const SOURCES: readonly string[] = ["pagemap", "smaps_rollup", "none"];
const KINDS: readonly string[] = ["file", "anon", "anon-named", "shmem", "hugetlb", "heap", "stack", "vdso", "vvar", "vsyscall", "special"];

/** Every feature KernelInfo has: reports read any of them. */
const FEATURES = ["kpagecount", "kpageflags", "kpagecgroup", "pfns", "softDirty", "idlePageTracking", "anonVmaNames", "pagemapScan", "smapsRollup", "guardRegions", "config"] as const satisfies readonly FeatureName[];
// A feature added to FeatureName and not to FEATURES fails to compile here.
const allFeatures: [Exclude<FeatureName, (typeof FEATURES)[number]>] extends [never] ? true : never = true;
void allFeatures;

function checkFeature(x: unknown): x is Feature {
  return isObj(x) && isBool(x["available"]) && (x["note"] === undefined || isStr(x["note"]));
}

function checkKernel(x: unknown, bad: Check): KernelInfo {
  if (!isObj(x)) bad("kernel is not an object");
  const v = x["version"];
  if (!(v === null || (isObj(v) && isCount(v["major"]) && isCount(v["minor"]) && isStr(v["release"])))) bad("kernel.version is malformed");
  const ps = x["pageSize"];
  if (!isCount(ps) || ps < 512 || ps > 1 << 30 || (ps & (ps - 1)) !== 0) bad("kernel.pageSize is not a power of two");
  if (!["precise", "average", "unknown"].includes(x["mapcount"] as string)) bad("kernel.mapcount is malformed");
  if (!isCount(x["maxSwapfiles"])) bad("kernel.maxSwapfiles is not a count");
  const swapArea = (a: unknown): boolean => isObj(a) && isStr(a["filename"]) && isStr(a["type"]) && isNum(a["sizeBytes"]) && isNum(a["usedBytes"]) && isNum(a["priority"]);
  if (!Array.isArray(x["swapAreas"]) || !x["swapAreas"].every(swapArea)) bad("kernel.swapAreas is malformed");
  if (!isBool(x["ksmActive"])) bad("kernel.ksmActive is not a boolean");
  if (!(x["thpMode"] === null || isStr(x["thpMode"]))) bad("kernel.thpMode is not a string");
  const f = x["features"];
  if (!isObj(f) || !Object.values(f).every(checkFeature)) bad("kernel.features is malformed");
  for (const name of FEATURES) if (f[name] === undefined) bad(`kernel.features has no ${name}`);
  return { ...x, version: v ?? undefined, thpMode: x["thpMode"] ?? undefined } as unknown as KernelInfo;
}

function checkVma(x: unknown): x is VmaTuple {
  return (
    Array.isArray(x) &&
    x.length === 11 &&
    isNum(x[0]) &&
    isNum(x[1]) &&
    isStr(x[2]) &&
    isStr(x[3]) &&
    isBool(x[4]) &&
    isNum(x[5]) &&
    isStr(x[6]) &&
    isNum(x[7]) &&
    isStr(x[8]) &&
    isBool(x[9]) &&
    KINDS.includes(x[10] as string)
  );
}

function checkInfo(x: unknown): x is ProcessRecord["info"] {
  return (
    Array.isArray(x) &&
    x.length === 10 &&
    isCount(x[0]) &&
    isCount(x[1]) &&
    orNull(isCount)(x[2]) &&
    isStr(x[3]) &&
    isStr(x[4]) &&
    listOf(isStr)(x[5]) &&
    orNull(isStr)(x[6]) &&
    orNull(isNum)(x[7]) &&
    orNull(isNum)(x[8]) &&
    orNull(isCount)(x[9])
  );
}

const isRange = (x: unknown): x is [number, number] => Array.isArray(x) && x.length === 2 && isCount(x[0]) && isCount(x[1]) && x[0] <= x[1];

function checkProcess(x: unknown, bad: Check, n: number): ProcessRecord {
  const what = `processes[${n}]`;
  if (!isObj(x)) bad(`${what} is not an object`);
  if (!checkInfo(x["info"])) bad(`${what}.info is malformed`);
  if (!STATES.includes(x["state"] as string)) bad(`${what}.state is malformed`);
  if (!SOURCES.includes(x["source"] as string)) bad(`${what}.source is malformed`);
  if (!orNull(isStr)(x["reason"])) bad(`${what}.reason is not a string`);
  if (!Array.isArray(x["vmas"]) || !x["vmas"].every(checkVma)) bad(`${what}.vmas is malformed`);
  if (!isCount(x["rows"])) bad(`${what}.rows is not a count`);
  if (!isRange(x["runs"]) || !isRange(x["refs"]) || !isRange(x["swaps"])) bad(`${what}: runs, refs or swaps is not a range`);
  const rows = x["rows"];
  // Reports index usage rows by VMA for pagemap processes, and read one row otherwise.
  if (x["source"] === "pagemap" ? rows !== x["vmas"].length : rows !== 1) bad(`${what}: ${rows} usage rows for ${x["vmas"].length} mappings from ${String(x["source"])}`);
  return x as unknown as ProcessRecord;
}

function checkHeader(x: unknown, bad: Check): Header {
  if (!isObj(x)) bad("the header is not an object");
  if (!isStr(x["takenAt"])) bad("takenAt is not a string");
  if (!isNum(x["durationMs"])) bad("durationMs is not a number");
  const kernel = checkKernel(x["kernel"], bad);
  const mi = x["meminfo"];
  if (!(mi === null || (isObj(mi) && Object.values(mi).every(isNum)))) bad("meminfo is malformed");
  if (x["mode"] !== "pagemap" && x["mode"] !== "smaps_rollup") bad("mode is malformed");
  for (const k of ["vanished", "notFound", "trustedPids"]) if (!listOf(isCount)(x[k])) bad(`${k} is not a list of pids`);
  if (!listOf(isStr)(x["notes"])) bad("notes is not a list of strings");
  const l = x["lookup"];
  if (!(l === null || (isObj(l) && isCount(l["pfns"]) && isCount(l["reads"]) && isCount(l["wordsRead"])))) bad("lookup is malformed");
  if (!isBool(x["trustedExclusive"])) bad("trustedExclusive is not a boolean");
  if (!isCount(x["runPages"])) bad("runPages is not a count");
  const k = x["kpage"];
  if (!isObj(k) || !isCount(k["size"]) || !isCount(k["beyondEnd"]) || !isBool(k["partialFlags"]) || !isBool(k["cgroup"])) bad("kpage is malformed");
  if (!Array.isArray(x["processes"])) bad("processes is not a list");
  x["processes"].forEach((p, n) => checkProcess(p, bad, n));
  const lengths = x["lengths"];
  if (!isObj(lengths) || !COLUMNS.every(([name]) => isCount(lengths[name]))) bad("lengths is malformed");
  return { ...x, kernel } as unknown as Header;
}

/** Copy a column out of the buffer (aligned, and owned by the result). */
function column(bytes: Uint8Array, offset: number, n: number, kind: Kind): Float64Array | Uint32Array | Uint8Array {
  const raw = bytes.slice(offset, offset + n * BYTES[kind]);
  return kind === "f64" ? new Float64Array(raw.buffer, 0, n) : kind === "u32" ? new Uint32Array(raw.buffer, 0, n) : raw;
}

/** The run columns cut into chunks of RUN_CHUNK runs, as a scan holds them (views: decoding already copied the columns). */
function runChunksOf(pfn: Float64Array, len: Uint32Array, vma: Uint32Array, bits: Uint8Array): RunChunk[] {
  const chunks: RunChunk[] = [];
  for (let at = 0; at < pfn.length; at += RUN_CHUNK) {
    const end = Math.min(pfn.length, at + RUN_CHUNK);
    chunks.push({ pfn: pfn.subarray(at, end), len: len.subarray(at, end), vma: vma.subarray(at, end), bits: bits.subarray(at, end) });
  }
  return chunks;
}

/** The shared objects' runs: every object's runs ascending by offset without overlap, every PFN looked up. */
function checkObjects(first: Uint32Array, off: Float64Array, pfn: Float64Array, len: Uint32Array, bits: Uint8Array, rankOf: (pfn: number) => number, size: number, bad: Check): ScanObjects {
  const n = pfn.length;
  if (off.length !== n || len.length !== n || bits.length !== n) bad("the shared objects' run columns differ in length");
  if (first.length === 0 || first[0] !== 0 || first[first.length - 1] !== n) bad("the shared objects' run index does not cover their runs");
  for (let o = 0; o + 1 < first.length; o++) {
    if (first[o + 1]! < first[o]!) bad(`shared object ${o}'s runs end before they start`);
    for (let k = first[o]!; k < first[o + 1]!; k++) {
      const p = pfn[k]!;
      const m = len[k]!;
      if (!Number.isInteger(p) || p < 0 || m === 0 || !Number.isSafeInteger(off[k]!) || off[k]! < 0) bad(`shared object run ${k} is not a run of page frames`);
      if (k > first[o]! && off[k]! < off[k - 1]! + len[k - 1]!) bad(`shared object ${o}'s runs overlap or are out of order at run ${k}`);
      const r0 = rankOf(p);
      if (r0 < 0 || r0 + m > size || rankOf(p + m - 1) !== r0 + m - 1) bad(`shared object run ${k}'s page frames were not all looked up`);
    }
  }
  return { first, off, pfn, len, bits };
}

/** References: each to an object that exists, every page of it in that object's runs (forEachRefRun relies on it). */
function checkRefs(objects: ScanObjects, object: Uint32Array, off: Float64Array, len: Uint32Array, vma: Uint32Array, bad: Check): ScanRefs {
  const n = object.length;
  if (off.length !== n || len.length !== n || vma.length !== n) bad("the reference columns differ in length");
  const nObjects = objects.first.length - 1;
  for (let r = 0; r < n; r++) {
    const o = object[r]!;
    if (o >= nObjects) bad(`reference ${r} names shared object ${o} of ${nObjects}`);
    let at = off[r]!;
    const stop = at + len[r]!;
    if (!Number.isSafeInteger(at) || at < 0 || len[r]! === 0) bad(`reference ${r} is not a range of pages`);
    // Coverage: consecutive runs from the one holding the first page, with no gap up to the last.
    for (let k = objectRunAt(objects, o, at); at < stop; k++) {
      if (k < 0 || k >= objects.first[o + 1]! || objects.off[k]! > at) bad(`reference ${r} reaches page ${at} of shared object ${o}, which no run holds`);
      at = objects.off[k]! + objects.len[k]!;
    }
  }
  return { object, off, len, vma };
}

function checkRange(r: readonly [number, number], n: number, what: string, bad: Check): IndexRange {
  if (r[1] > n) bad(`${what} [${r[0]}, ${r[1]}) runs past the ${n} entries`);
  return { start: r[0], end: r[1] };
}

/**
 * A scan from encodeScan's bytes. `file` names the source in errors.
 * Throws ScanFormatError for anything encodeScan did not write.
 */
export function decodeScan(bytes: Uint8Array, file = "encoded scan"): ScanData {
  const bad: Check = (why) => {
    throw new ScanFormatError(file, why);
  };
  if (bytes.length < PREFIX) bad(`${bytes.length} bytes: shorter than the ${PREFIX}-byte prefix`);
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) bad("no PLSCAN magic (not an encoded scan)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== SCAN_DATA_VERSION) bad(`version ${version} (this pagelens reads version ${SCAN_DATA_VERSION})`);
  const headerBytes = view.getUint32(12, true);
  if (headerBytes > bytes.length - PREFIX) bad(`a header of ${headerBytes} bytes in ${bytes.length} bytes: truncated`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + headerBytes)));
  } catch {
    bad("the header is not UTF-8 JSON");
  }
  const h = checkHeader(parsed, bad);

  // Every length against the buffer before anything is allocated: the columns must fill it exactly.
  let expected = align8(PREFIX + headerBytes);
  const offsets = {} as Record<ColumnName, number>;
  for (const [name, kind] of COLUMNS) {
    offsets[name] = expected;
    expected = align8(expected + h.lengths[name] * BYTES[kind]);
    if (expected > bytes.length) bad(`column ${name} of ${h.lengths[name]} entries runs past the end (${bytes.length} bytes): truncated`);
  }
  if (expected !== bytes.length) bad(`${bytes.length - expected} bytes after the last column`);
  const col = <T extends Float64Array | Uint32Array | Uint8Array>(name: ColumnName): T => column(bytes, offsets[name], h.lengths[name], COLUMNS.find((c) => c[0] === name)![1]) as T;
  const L = h.lengths;

  // The columns' lengths agree with each other and with the header.
  const nRuns = L.runPfn;
  if (L.runLen !== nRuns || L.runVma !== nRuns || L.runBits !== nRuns) bad("the run columns differ in length");
  if (L.swapVma !== L.swapSlot) bad("the swap columns differ in length");
  const size = h.kpage.size;
  if (L.count !== size || L.flagsLo !== size || L.flagsHi !== size) bad(`kpage value columns are not ${size} long`);
  if (L.cgroup !== (h.kpage.cgroup ? size : 0)) bad("the kpagecgroup column has the wrong length");
  if (L.bitmaps !== L.blocks * BLOCK_WORDS) bad("the kpage bitmaps do not match the block list");
  const rows = h.processes.reduce((n, p) => n + p.rows, 0);
  if (L.usage !== rows * NF) bad(`the usage column holds ${L.usage} numbers for ${rows} rows`);

  const blocks = col<Uint32Array>("blocks");
  for (let s = 0; s < blocks.length; s++) if (blocks[s]! >= MAX_BLOCKS || (s > 0 && blocks[s]! <= blocks[s - 1]!)) bad("kpage blocks are not ascending block numbers of a 52-bit address space");
  const bitmaps = col<Uint32Array>("bitmaps");
  const { bases, size: counted } = rankBasesOf(bitmaps);
  if (counted !== size) bad(`the kpage bitmaps hold ${counted} PFNs, the values ${size}`);
  const kpage: KpageValues = {
    size,
    blocks,
    bitmaps,
    bases,
    count: col("count"),
    flagsLo: col("flagsLo"),
    flagsHi: col("flagsHi"),
    cgroup: h.kpage.cgroup ? col<Float64Array>("cgroup") : undefined,
    beyondEnd: h.kpage.beyondEnd,
    partialFlags: h.kpage.partialFlags,
  };

  const pfn = col<Float64Array>("runPfn");
  const len = col<Uint32Array>("runLen");
  const runVma = col<Uint32Array>("runVma");
  const runBits = col<Uint8Array>("runBits");
  let pages = 0;
  const rankOf = kpageRanker(kpage);
  for (let r = 0; r < nRuns; r++) {
    const first = pfn[r]!;
    const n = len[r]!;
    if (!Number.isInteger(first) || first < 0 || n === 0) bad(`run ${r} is not a run of page frames`);
    // Reports take a run's values from consecutive ranks: every PFN of it must have been looked up.
    const r0 = rankOf(first);
    if (r0 < 0 || r0 + n > size || rankOf(first + n - 1) !== r0 + n - 1) bad(`run ${r}'s page frames were not all looked up`);
    pages += n;
  }
  if (pages !== h.runPages) bad(`the runs hold ${pages} pages, the header says ${h.runPages}`);
  const swapVma = col<Uint32Array>("swapVma");
  const objects = checkObjects(col("objFirst"), col("objOff"), col("objPfn"), col("objLen"), col("objBits"), rankOf, size, bad);
  const refs = checkRefs(objects, col("refObject"), col("refOff"), col("refLen"), col("refVma"), bad);

  const usage = col<Float64Array>("usage");
  let row = 0;
  const processes = h.processes.map((p, n): ScannedProcess => {
    const [pid, ppid, uid, user, comm, cmdline, cgroup, vmRss, vmSwap, startTime] = p.info;
    const info: ProcessInfo = {
      pid,
      ppid,
      uid: uid ?? undefined,
      user,
      comm,
      cmdline,
      cgroup: cgroup ?? undefined,
      vmRssBytes: vmRss ?? undefined,
      vmSwapBytes: vmSwap ?? undefined,
      startTime: startTime ?? undefined,
    };
    const vmas = p.vmas.map(([start, end, range, perms, mayShare, offset, dev, inode, name, deleted, kind]): Vma => ({ start, end, range, perms, mayShare, offset, dev, inode, name, deleted, kind }));
    const runs = checkRange(p.runs, nRuns, `processes[${n}].runs`, bad);
    const swaps = checkRange(p.swaps, L.swapSlot, `processes[${n}].swaps`, bad);
    const procRefs = checkRange(p.refs, refs.object.length, `processes[${n}].refs`, bad);
    for (let r = procRefs.start; r < procRefs.end; r++) if (refs.vma[r]! >= vmas.length) bad(`reference ${r} names mapping ${refs.vma[r]} of a process with ${vmas.length}`);
    // Reports index mappings by a run's or swap entry's VMA index.
    for (let r = runs.start; r < runs.end; r++) if (runVma[r]! >= vmas.length) bad(`run ${r} names mapping ${runVma[r]} of a process with ${vmas.length}`);
    for (let r = swaps.start; r < swaps.end; r++) if (swapVma[r]! >= vmas.length) bad(`swap entry ${r} names mapping ${swapVma[r]} of a process with ${vmas.length}`);
    const out: ScannedProcess = {
      info,
      state: p.state,
      source: p.source,
      ...(p.reason !== null && { reason: p.reason }),
      vmas,
      usage: usage.subarray(row * NF, (row + p.rows) * NF),
      runs,
      refs: procRefs,
      swaps,
    };
    row += p.rows;
    return out;
  });

  return {
    version: SCAN_DATA_VERSION,
    takenAt: h.takenAt,
    durationMs: h.durationMs,
    kernel: h.kernel,
    meminfo: h.meminfo ?? undefined,
    mode: h.mode,
    processes,
    vanished: h.vanished,
    notFound: h.notFound,
    notes: h.notes,
    runs: { length: nRuns, chunks: runChunksOf(pfn, len, runVma, runBits), pages },
    objects,
    refs,
    swaps: { slot: col("swapSlot"), vma: swapVma },
    kpage,
    lookup: h.lookup ?? undefined,
    trustedExclusive: h.trustedExclusive,
    trustedPids: h.trustedPids,
  };
}
