/**
 * A small POSIX tar (ustar, with pax `path` records for long names) writer
 * and a strict reader: the container of a capture, readable by `tar tzf`.
 * Only what captures need: regular files, in memory. The reader never writes
 * anywhere and checks every field it uses (checksums, octal sizes, bounds),
 * because a capture may come from anyone.
 */
import { CaptureFormatError } from "./errors.js";

const BLOCK = 512;

export interface TarMember {
  readonly name: string;
  readonly data: Uint8Array;
}

function octal(buf: Uint8Array, at: number, len: number, value: number): void {
  const s = value.toString(8).padStart(len - 1, "0");
  if (s.length > len - 1) throw new RangeError(`tar field overflow: ${value}`);
  for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
  buf[at + len - 1] = 0;
}

function ascii(buf: Uint8Array, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) buf[at + i] = text.charCodeAt(i);
}

function header(name: string, size: number, type: string, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const nameBytes = Buffer.from(name, "utf8");
  // Callers pass a short ASCII name here; long names go in a pax record first.
  h.set(nameBytes.subarray(0, 100), 0);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  ascii(h, 148, "        ");
  ascii(h, 156, type);
  ascii(h, 257, "ustar\u000000");
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  octal(h, 148, 7, sum);
  h[155] = 0x20;
  return h;
}

function pad(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** One tar archive of `members` (names are relative paths), ending with the two zero blocks (without `end`, a part of one, for more members to follow). */
export function writeTar(members: readonly TarMember[], mtime: number, end = true): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    const nameBytes = Buffer.byteLength(m.name, "utf8");
    let short = m.name;
    if (nameBytes > 99 || /[^\x20-\x7e]/.test(m.name)) {
      // pax extended header: "LEN path=NAME\n", LEN counting itself.
      const body = ` path=${m.name}\n`;
      const bodyLen = Buffer.byteLength(body, "utf8");
      let len = bodyLen + 1;
      while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
      const rec = Buffer.from(`${len}${body}`, "utf8");
      parts.push(header("PaxHeader", rec.length, "x", mtime), rec, new Uint8Array(pad(rec.length)));
      short = `pax-${parts.length}`;
    }
    parts.push(header(short, m.data.length, "0", mtime), m.data, new Uint8Array(pad(m.data.length)));
  }
  if (end) parts.push(new Uint8Array(BLOCK * 2));
  return Buffer.concat(parts);
}

function readOctal(h: Uint8Array, at: number, len: number, what: string, file: string): number {
  let s = "";
  for (let i = at; i < at + len; i++) {
    const c = h[i]!;
    if (c === 0 || c === 0x20) {
      if (s.length > 0) break;
      continue;
    }
    if (c < 0x30 || c > 0x37) throw new CaptureFormatError(file, `tar header: ${what} is not an octal number`);
    s += String.fromCharCode(c);
  }
  if (s === "") throw new CaptureFormatError(file, `tar header: empty ${what}`);
  const n = parseInt(s, 8);
  if (!Number.isSafeInteger(n)) throw new CaptureFormatError(file, `tar header: ${what} out of range`);
  return n;
}

function cString(h: Uint8Array, at: number, len: number): string {
  let end = at;
  while (end < at + len && h[end] !== 0) end++;
  return Buffer.from(h.subarray(at, end)).toString("utf8");
}

/** A member name a capture may hold: relative, no `..`, no NUL, no backslash games. */
export function validMemberName(name: string): boolean {
  if (name.length === 0 || name.length > 4096 || name.startsWith("/") || name.includes("\0")) return false;
  return !name.split("/").some((p) => p === ".." || p === "." || p === "");
}

/**
 * Every regular file of the archive, in order. `limits.members` caps the
 * count, `limits.memberBytes` each file (checked against the header before
 * anything is sliced, though slicing copies nothing). Any inconsistency is a
 * CaptureFormatError.
 */
export function readTar(bytes: Uint8Array, file: string, limits: { members: number; memberBytes: number }): TarMember[] {
  const out: TarMember[] = [];
  let at = 0;
  let paxPath: string | undefined;
  for (;;) {
    if (at + BLOCK > bytes.length) throw new CaptureFormatError(file, "tar archive truncated (no end marker)");
    const h = bytes.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) return out;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (readOctal(h, 148, 8, "checksum", file) !== sum) throw new CaptureFormatError(file, `tar header at byte ${at}: bad checksum`);
    const size = readOctal(h, 124, 12, "size", file);
    const type = h[156] === 0 ? "0" : String.fromCharCode(h[156]!);
    const dataAt = at + BLOCK;
    if (size > limits.memberBytes) throw new CaptureFormatError(file, `member of ${size} bytes exceeds the limit of ${limits.memberBytes}`);
    if (dataAt + size > bytes.length) throw new CaptureFormatError(file, `tar member at byte ${at} runs past the end (size ${size})`);
    const data = bytes.subarray(dataAt, dataAt + size);
    at = dataAt + size + pad(size);
    if (type === "x") {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(Buffer.from(data).toString("utf8"));
      if (!m) throw new CaptureFormatError(file, "pax header without a path record");
      paxPath = m[1];
      continue;
    }
    if (type !== "0") throw new CaptureFormatError(file, `tar member type '${type}' is not a regular file`);
    const prefix = cString(h, 345, 155);
    const name = paxPath ?? (prefix ? `${prefix}/${cString(h, 0, 100)}` : cString(h, 0, 100));
    paxPath = undefined;
    if (!validMemberName(name)) throw new CaptureFormatError(file, `bad member name ${JSON.stringify(name.slice(0, 200))}`);
    if (out.length >= limits.members) throw new CaptureFormatError(file, `more than ${limits.members} members`);
    out.push({ name, data });
  }
}
