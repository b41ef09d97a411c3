/**
 * The capture file: a gzip-compressed POSIX tar (so `tar tzf FILE` lists it)
 * holding
 *   manifest.json   format name and version, who took it when and where,
 *                   what it recorded and what it did not;
 *   meta.json       the recorded answers that are not file contents:
 *                   the pid list, errors (a process that was gone, a file
 *                   the kernel refused), sysfs directories with inodes,
 *                   owners, existence checks, passwd entries;
 *   files/PATH      each text or binary file read, byte for byte;
 *   words/PATH      each 64-bit-word file read, as extents (words.ts).
 * PATH is the absolute path read on the machine, without its leading "/".
 * See docs/captures.md. Reading checks everything: sizes, names, counts,
 * the JSON's shape, and caps what decompression may produce.
 */
import { gunzipSync, gzip, gzipSync, constants as zc } from "node:zlib";
import { CaptureFormatError } from "./errors.js";
import { readTar, writeTar, type TarMember } from "./tar.js";

export const CAPTURE_FORMAT = "pagelens-capture";
export const CAPTURE_VERSION = 1;

/** Limits for reading a capture from anyone: what the reader refuses rather than allocates. */
export const CAPTURE_LIMITS = {
  /** The compressed file. */
  fileBytes: 256 * 1024 * 1024,
  /** Everything the gzip stream may inflate to (a decompression bomb stops here). */
  totalBytes: 1024 * 1024 * 1024,
  /** One member. */
  memberBytes: 512 * 1024 * 1024,
  members: 1_000_000,
} as const;

export interface CaptureLimits {
  readonly fileBytes: number;
  readonly totalBytes: number;
  readonly memberBytes: number;
  readonly members: number;
}

export interface Manifest {
  readonly format: string;
  readonly version: number;
  readonly pagelens: string;
  readonly time: string;
  readonly host: string;
  readonly kernel: string;
  readonly root: string;
  readonly sysRoot: string | null;
  readonly pids: number;
  /**
   * Taken at `capture --level pages` or `all` (the kpage words of every
   * page seen, not only those a scan looks up). Absent in captures from
   * before the levels, which recorded that always.
   */
  readonly exact?: boolean;
  /**
   * Taken at `capture --level all`, the default (also every process's
   * smaps, the whole kpageflags). Absent in captures from before the
   * levels, which recorded those always.
   */
  readonly full?: boolean;
  readonly recorded: readonly string[];
  readonly notRecorded: readonly string[];
}

/** A read that failed on the machine, replayed as the same typed error. */
export interface RecordedError {
  readonly code?: string;
  readonly reason?: string;
}

export interface Meta {
  readonly pids: number[] | null;
  /** `pids` is every process there was (not a --pid selection): a pid not in it did not exist. */
  readonly pidsComplete: boolean;
  readonly errors: Record<string, RecordedError>;
  readonly dirs: Record<string, { ino: number; subdirs: string[] } | null>;
  readonly exists: Record<string, boolean>;
  readonly owners: Record<string, number | null>;
  /** Word files whose reads failed part-way (a process that exited): unrecorded words replay that error. */
  readonly wordErrors: Record<string, RecordedError>;
  /** stat sizes of word files (0 under /proc; a fixture's file size), for the truncation check. */
  readonly sizes: Record<string, number | null>;
  readonly passwd: string;
}

export interface CaptureContents {
  readonly manifest: Manifest;
  readonly meta: Meta;
  readonly files: Map<string, Uint8Array>;
  /** Encoded word members (see words.ts), decoded when first opened. */
  readonly words: Map<string, Uint8Array>;
}

const rel = (p: string): string => p.replace(/^\/+/, "");

const mtimeOf = (time: string): number => Math.floor(Date.parse(time) / 1000) || 0;
const wordMembers = (words: ReadonlyMap<string, Uint8Array>): TarMember[] =>
  [...words].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([p, data]) => ({ name: `words/${rel(p)}`, data }));

/** The capture's tar (uncompressed): manifest, meta, files, then `early` words (already written elsewhere) unless given, then the words. */
function captureTar(c: CaptureContents, end = true): Uint8Array {
  const members: TarMember[] = [
    { name: "manifest.json", data: Buffer.from(JSON.stringify(c.manifest, null, 2) + "\n") },
    { name: "meta.json", data: Buffer.from(JSON.stringify(c.meta)) },
  ];
  for (const [p, data] of [...c.files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) members.push({ name: `files/${rel(p)}`, data });
  if (end) members.push(...wordMembers(c.words));
  return writeTar(members, mtimeOf(c.manifest.time), end);
}

// Level 1: on a 16.6 MB capture tar of a 118-process machine, levels 1/3/6/9 gave 3.30/3.04/2.77/2.68 MB
// in 81/129/325/3845 ms. The size is far below any limit; the time is what a capture is judged on.
const GZIP = { level: 1, memLevel: 9, strategy: zc.Z_DEFAULT_STRATEGY } as const;

/** Pieces of at least this size are compressed apart, at once, on the pool threads. */
const PIECE_BYTES = 4 * 1024 * 1024;

/**
 * The capture file, compressed on the libuv pool threads: the tar is cut
 * into up to 4 pieces, each compressed as its own gzip member, the members
 * concatenated. A gzip file may hold several members, read as one stream
 * (RFC 1952 2.2; gunzip, `tar xzf` and Node's gunzip all do), so the file is
 * still one .tar.gz. On the reference workload's ~27 MB tar this takes the
 * ~150 ms of compressing off the main thread and, on two idle cores, halves it.
 */
export async function writeCaptureAsync(c: CaptureContents): Promise<Uint8Array> {
  const pieces = await gzipPieces(captureTar(c));
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

/** Tar bytes as up to 4 gzip members, compressed at once on the pool threads. */
function gzipPieces(tar: Uint8Array): Promise<Buffer[]> {
  const n = Math.max(1, Math.min(4, Math.floor(tar.length / PIECE_BYTES)));
  const size = Math.ceil(tar.length / n);
  return Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<Buffer>((resolve, reject) =>
          gzip(tar.subarray(i * size, Math.min(tar.length, (i + 1) * size)), GZIP, (err, out) => (err ? reject(err) : resolve(out))),
        ),
    ),
  );
}

/**
 * A capture file written in parts, so that compressing overlaps reading:
 * word members that are final early (each process's pagemap, before the
 * kpage words are read) are tarred and compressed on the pool threads at
 * once (`early`), while the caller reads on; `finish` writes manifest, meta
 * and files in front of them and the remaining words after them, each part
 * its own gzip members (one .tar.gz all the same, as writeCaptureAsync's).
 * On the reference workload the pagemap members are ~60% of the tar, and
 * their compressing then runs while the main thread reads the kpage words.
 */
export class CaptureWriter {
  private readonly middle: Array<Promise<Buffer[]>> = [];

  constructor(private readonly time: string) {}

  /** Compress these word members now (the caller records nothing more into them). */
  early(words: ReadonlyMap<string, Uint8Array>): void {
    if (words.size === 0) return;
    const part = gzipPieces(writeTar(wordMembers(words), mtimeOf(this.time), false));
    // Awaited in finish; until then a failure must not be an unhandled rejection.
    part.catch(() => undefined);
    this.middle.push(part);
  }

  /** The whole file: `c` (with the time given to the constructor) holds everything but the early words. */
  async finish(c: CaptureContents): Promise<Uint8Array> {
    const mtime = mtimeOf(this.time);
    const [head, middle, tail] = await Promise.all([
      gzipPieces(captureTar(c, false)),
      Promise.all(this.middle),
      gzipPieces(writeTar(wordMembers(c.words), mtime, true)),
    ]);
    return Buffer.concat([...head, ...middle.flat(), ...tail]);
  }
}

/** The same, in one gzip member on this thread. */
export function writeCapture(c: CaptureContents): Uint8Array {
  return gzipSync(captureTar(c), GZIP);
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function checkRecord<T>(x: unknown, ok: (v: unknown) => v is T, what: string, file: string): Record<string, T> {
  if (!isObj(x)) throw new CaptureFormatError(file, `meta.json: ${what} is not an object`);
  const out: Record<string, T> = Object.create(null) as Record<string, T>;
  for (const [k, v] of Object.entries(x)) {
    if (!ok(v)) throw new CaptureFormatError(file, `meta.json: bad ${what} entry for ${JSON.stringify(k.slice(0, 200))}`);
    out[k] = v;
  }
  return out;
}

const isUint = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isErr = (v: unknown): v is RecordedError =>
  isObj(v) && (v["code"] === undefined || typeof v["code"] === "string") && (v["reason"] === undefined || typeof v["reason"] === "string");
const isDir = (v: unknown): v is { ino: number; subdirs: string[] } | null =>
  v === null || (isObj(v) && isUint(v["ino"]) && Array.isArray(v["subdirs"]) && v["subdirs"].every((s) => typeof s === "string" && s !== "" && !s.includes("/") && s !== ".." && s !== "."));

function checkManifest(x: unknown, file: string): Manifest {
  if (!isObj(x) || x["format"] !== CAPTURE_FORMAT) throw new CaptureFormatError(file, "manifest.json does not name the pagelens-capture format");
  if (x["version"] !== CAPTURE_VERSION)
    throw new CaptureFormatError(file, `format version ${JSON.stringify(x["version"])} (this pagelens reads version ${CAPTURE_VERSION}): take the capture again or use a matching pagelens`);
  for (const k of ["pagelens", "time", "host", "kernel", "root"]) if (typeof x[k] !== "string") throw new CaptureFormatError(file, `manifest.json: ${k} is not a string`);
  if (!(x["sysRoot"] === null || typeof x["sysRoot"] === "string")) throw new CaptureFormatError(file, "manifest.json: sysRoot is not a string");
  if (!isUint(x["pids"])) throw new CaptureFormatError(file, "manifest.json: pids is not a count");
  for (const k of ["exact", "full"]) if (!(x[k] === undefined || typeof x[k] === "boolean")) throw new CaptureFormatError(file, `manifest.json: ${k} is not true or false`);
  for (const k of ["recorded", "notRecorded"])
    if (!Array.isArray(x[k]) || !(x[k] as unknown[]).every((s) => typeof s === "string")) throw new CaptureFormatError(file, `manifest.json: ${k} is not a list of strings`);
  return x as unknown as Manifest;
}

function checkMeta(x: unknown, file: string): Meta {
  if (!isObj(x)) throw new CaptureFormatError(file, "meta.json is not an object");
  const pids = x["pids"];
  if (!(pids === null || (Array.isArray(pids) && pids.every(isUint)))) throw new CaptureFormatError(file, "meta.json: pids is not a list of process ids");
  if (typeof x["passwd"] !== "string") throw new CaptureFormatError(file, "meta.json: passwd is not a string");
  return {
    pids: pids as number[] | null,
    pidsComplete: x["pidsComplete"] === true,
    errors: checkRecord(x["errors"], isErr, "errors", file),
    dirs: checkRecord(x["dirs"], isDir, "dirs", file),
    exists: checkRecord(x["exists"], (v): v is boolean => typeof v === "boolean", "exists", file),
    owners: checkRecord(x["owners"], (v): v is number | null => v === null || isUint(v), "owners", file),
    wordErrors: checkRecord(x["wordErrors"], isErr, "wordErrors", file),
    sizes: checkRecord(x["sizes"], (v): v is number | null => v === null || isUint(v), "sizes", file),
    passwd: x["passwd"],
  };
}

function parseJson(data: Uint8Array | undefined, name: string, file: string): unknown {
  if (data === undefined) throw new CaptureFormatError(file, `no ${name}`);
  try {
    return JSON.parse(Buffer.from(data).toString("utf8"));
  } catch {
    throw new CaptureFormatError(file, `${name} is not valid JSON`);
  }
}

/** Check and unpack a capture's bytes. Every failure is a CaptureFormatError naming `file`. */
export function readCapture(bytes: Uint8Array, file: string, limits: CaptureLimits = CAPTURE_LIMITS): CaptureContents {
  if (bytes.length > limits.fileBytes) throw new CaptureFormatError(file, `larger than ${limits.fileBytes} bytes`);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) throw new CaptureFormatError(file, "not gzip-compressed (a capture is a .tar.gz)");
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: limits.totalBytes });
  } catch (err) {
    const why = err instanceof RangeError || /maxOutputLength|larger than/i.test(String(err)) ? `inflates to more than ${limits.totalBytes} bytes` : `gzip stream damaged (${(err as Error).message})`;
    throw new CaptureFormatError(file, why);
  }
  const members = readTar(tar, file, limits);
  const byName = new Map<string, Uint8Array>();
  for (const m of members) {
    if (byName.has(m.name)) throw new CaptureFormatError(file, `member ${JSON.stringify(m.name.slice(0, 200))} appears twice`);
    byName.set(m.name, m.data);
  }
  const manifest = checkManifest(parseJson(byName.get("manifest.json"), "manifest.json", file), file);
  const meta = checkMeta(parseJson(byName.get("meta.json"), "meta.json", file), file);
  const files = new Map<string, Uint8Array>();
  const words = new Map<string, Uint8Array>();
  for (const [name, data] of byName) {
    if (name.startsWith("files/")) files.set(`/${name.slice(6)}`, data);
    else if (name.startsWith("words/")) words.set(`/${name.slice(6)}`, data);
    else if (name !== "manifest.json" && name !== "meta.json") throw new CaptureFormatError(file, `unknown member ${JSON.stringify(name.slice(0, 200))}`);
  }
  return { manifest, meta, files, words };
}
