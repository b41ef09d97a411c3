/**
 * page-types' flag syntax (tools/mm/page-types.c parse_bits_mask,
 * parse_flag_names, parse_flag_name, bit_mask_ok), for `--bits` and
 * `--describe`. A spec is a comma-separated list of flag names or numbers:
 *
 *   b1,b2        any of them is set           (flags & (b1|b2)) != 0
 *   b1,b2=b1     mask and value               (flags & (b1|b2)) == b1
 *   b1,~b2       set and clear                (flags & (b1|b2)) == b1
 *   =b1,b2       exactly these                flags == (b1|b2)
 *
 * Several filters must all hold. They test the flags as shown (after the
 * default view or raw mode's expansion), as page-types does.
 *
 * Deliberate differences from page-types, each because its behaviour there is
 * silently surprising:
 *  - an exact name wins over a prefix (page-types reads `swap` as swapcache,
 *    the first name it prefixes, so the synthetic `swap` bit is unreachable);
 *  - a prefix must be unambiguous, except that one stable (bits 0-26) name
 *    among raw-only candidates wins, which is what page-types' first-match
 *    rule gives (`anon` = anonymous, not anon_exclusive);
 *  - unknown names, empty specs, trailing junk after numbers, and `~` inside
 *    a mask=value spec (ignored by page-types) are errors, not zero.
 * 64-bit values are parsed here with BigInt once; matching uses 32-bit halves.
 */
import { UsageError } from "../errors.js";
import { KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL, PAGE_FLAGS, type PageFlagInfo } from "./kpageflags.js";

/** A 64-bit flag word as its low and high 32-bit halves (both unsigned). */
export interface FlagWord {
  readonly lo: number;
  readonly hi: number;
}

export interface BitsFilter {
  /** The spec as given, for reports. */
  readonly spec: string;
  readonly maskLo: number;
  readonly maskHi: number;
  readonly valueLo: number;
  readonly valueHi: number;
  /** page-types' "bits == KPF_ALL_BITS" case: at least one mask bit is set. */
  readonly anyOf: boolean;
}

const COMPOUND = "compound";
const ALL: FlagWord = { lo: 0xffffffff, hi: 0xffffffff };

function bitWord(bit: number): FlagWord {
  return bit < 32 ? { lo: (1 << bit) >>> 0, hi: 0 } : { lo: 0, hi: (1 << (bit - 32)) >>> 0 };
}

function or(a: FlagWord, b: FlagWord): FlagWord {
  return { lo: (a.lo | b.lo) >>> 0, hi: (a.hi | b.hi) >>> 0 };
}

const TWO_64 = 1n << 64n;

/**
 * A number as page-types' strtoll(str, NULL, 0) reads it: 0x hex, leading-0
 * octal, else decimal. Returns undefined when `text` is not wholly a number.
 */
export function parseCNumber(text: string): bigint | undefined {
  let digits: string;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) digits = text;
  else if (/^0[0-7]*$/.test(text)) digits = text.length > 1 ? "0o" + text.slice(1) : "0";
  else if (/^[1-9][0-9]*$/.test(text)) digits = text;
  else return undefined;
  return BigInt(digits);
}

function wordOf(n: bigint): FlagWord {
  return { lo: Number(n & 0xffffffffn), hi: Number((n >> 32n) & 0xffffffffn) };
}

/** Resolve one name (or prefix, or number) to its bits. Throws a UsageError naming `option`. */
export function resolveFlagToken(token: string, option: string, spec: string): FlagWord {
  const where = `${option}: ${JSON.stringify(token)} in ${JSON.stringify(spec)}`;
  const exact = PAGE_FLAGS.find((f) => f.name === token);
  if (exact) return bitWord(exact.bit);
  // page-types: any prefix of "compound" up to its full length means head|tail.
  if (token.length <= COMPOUND.length && COMPOUND.startsWith(token)) return or(bitWord(KPF_COMPOUND_HEAD), bitWord(KPF_COMPOUND_TAIL));
  const candidates = PAGE_FLAGS.filter((f) => f.name.startsWith(token));
  const pick = pickPrefix(candidates);
  if (pick) return bitWord(pick.bit);
  if (candidates.length > 1) throw new UsageError(`${where} is ambiguous: it could be ${candidates.map((f) => f.name).join(", ")}`);
  const n = parseCNumber(token);
  if (n === undefined) throw new UsageError(`${where} is not a flag name or number (see \`pagelens flags --help\` for the names)`);
  if (n >= TWO_64) throw new UsageError(`${where} does not fit in 64 bits`);
  return wordOf(n);
}

function pickPrefix(candidates: readonly PageFlagInfo[]): PageFlagInfo | undefined {
  if (candidates.length === 1) return candidates[0];
  const stable = candidates.filter((f) => f.cls === "stable");
  return stable.length === 1 ? stable[0] : undefined;
}

/**
 * A comma-separated list of names or numbers, ORed. `~name` items are
 * skipped (collected in `negated` when given), as parse_flag_names does.
 */
function parseList(text: string, option: string, spec: string, negated?: FlagWord[]): FlagWord {
  let acc: FlagWord = { lo: 0, hi: 0 };
  for (const raw of text.split(",")) {
    const token = raw.trim();
    if (token === "") continue; // page-types ignores empty items ("anon,")
    if (token.startsWith("~")) {
      if (!negated) throw new UsageError(`${option}: "~" is not allowed in ${JSON.stringify(spec)} (use NAME,~NAME without "=")`);
      const name = token.slice(1).trim();
      if (name === "") throw new UsageError(`${option}: "~" without a flag name in ${JSON.stringify(spec)}`);
      negated.push(resolveFlagToken(name, option, spec));
      continue;
    }
    acc = or(acc, resolveFlagToken(token, option, spec));
  }
  return acc;
}

/** Parse one `--bits` spec (page-types parse_bits_mask). */
export function parseBitsSpec(spec: string, option = "--bits"): BitsFilter {
  const text = spec.trim();
  if (text === "") throw new UsageError(`${option}: empty spec (expected e.g. anon,~swapbacked or =buddy)`);
  const eq = text.indexOf("=");
  if (eq >= 0 && text.indexOf("=", eq + 1) >= 0) throw new UsageError(`${option}: more than one "=" in ${JSON.stringify(spec)}`);
  let mask: FlagWord;
  let value: FlagWord;
  let anyOf = false;
  if (eq === 0) {
    // "=b1,b2": every bit compared; "=" alone selects flags == 0.
    mask = ALL;
    value = parseList(text.slice(1), option, spec);
  } else if (eq > 0) {
    mask = parseList(text.slice(0, eq), option, spec);
    value = parseList(text.slice(eq + 1), option, spec);
    if ((value.lo & ~mask.lo) !== 0 || (value.hi & ~mask.hi) !== 0)
      throw new UsageError(`${option}: the value after "=" has bits outside the mask before it in ${JSON.stringify(spec)}, so nothing can match`);
  } else if (text.includes("~")) {
    const negated: FlagWord[] = [];
    value = parseList(text, option, spec, negated);
    mask = negated.reduce(or, value);
  } else {
    mask = parseList(text, option, spec);
    value = ALL;
    anyOf = true;
  }
  if (eq !== 0 && mask.lo === 0 && mask.hi === 0) throw new UsageError(`${option}: ${JSON.stringify(spec)} names no flag bits`);
  return { spec, maskLo: mask.lo, maskHi: mask.hi, valueLo: anyOf ? 0 : value.lo, valueHi: anyOf ? 0 : value.hi, anyOf };
}

/** Parse a `--describe` argument: names and numbers, comma-separated, ORed. */
export function parseFlagList(text: string, option = "--describe"): FlagWord {
  if (text.trim() === "") throw new UsageError(`${option}: empty (expected e.g. 0x10, anon or 0x10,anon)`);
  if (text.includes("=")) throw new UsageError(`${option}: "=" belongs in --bits, not in ${JSON.stringify(text)}`);
  return parseList(text, option, text);
}

/** Does one flag word pass one filter (page-types bit_mask_ok, for one filter)? */
export function matchesFilter(f: BitsFilter, lo: number, hi: number): boolean {
  const l = (lo & f.maskLo) >>> 0;
  const h = (hi & f.maskHi) >>> 0;
  if (f.anyOf) return (l | h) !== 0;
  return l === f.valueLo && h === f.valueHi;
}

/** Does a flag word pass all filters (they are ANDed)? */
export function matchesFilters(filters: readonly BitsFilter[], lo: number, hi: number): boolean {
  for (const f of filters) if (!matchesFilter(f, lo, hi)) return false;
  return true;
}

/** Bits (as a word) that a filter looks at: for warnings about bits hidden in the default view. */
export function filterMask(f: BitsFilter): FlagWord {
  return { lo: f.maskLo, hi: f.maskHi };
}
