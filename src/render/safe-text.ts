/**
 * The one way a name from /proc reaches a terminal. Process names, command
 * lines, paths, cgroup paths and user names are bytes anyone can choose
 * (`exec -a`, prctl(PR_SET_NAME), a file named with an escape sequence), so
 * a table that prints them raw lets any process clear the screen, set the
 * window title or forge rows. Everything a terminal would act on rather
 * than show is rewritten as visible text:
 *
 *   C0 controls, DEL, C1 (0x80-0x9f)   \n \t \r, else \xNN   (ESC is \x1b)
 *   backslash                           \\  (so `\n` on screen is never ambiguous)
 *   bidi controls (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069),
 *   line/paragraph separators (U+2028/9), lone surrogates   \uXXXX
 *
 * Invalid UTF-8 has already become U+FFFD when the file was decoded, which
 * is visible. JSON is not escaped here: it carries the true name.
 */

/** Anything that needs rewriting; tested first so plain names (nearly all) cost one regex test. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\\\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;
const UNSAFE_ALL = /[\x00-\x1f\x7f-\x9f\\\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\" };

function escapeOne(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** `text` with every control, escape, bidi override and backslash made visible. */
export function safeText(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, escapeOne) : text;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** Marks and zero-width format characters take no column. */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\u200b-\u200d\ufeff]$/u;

/**
 * East Asian wide and fullwidth characters (and most emoji) take two
 * columns: the ranges of wcwidth(3) that matter in names and paths.
 */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Columns `text` (already made safe) takes on a terminal. */
export function displayWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let w = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x300) w += 1;
    else if (ZERO_WIDTH.test(ch)) continue;
    else w += isWide(cp) ? 2 : 1;
  }
  return w;
}

function charWidth(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x300) return 1;
  if (ZERO_WIDTH.test(ch)) return 0;
  return isWide(cp) ? 2 : 1;
}

/** The longest prefix of `chars` that fits in `width` columns. */
function headOf(chars: readonly string[], width: number): string {
  let w = 0;
  let i = 0;
  for (; i < chars.length; i++) {
    const cw = charWidth(chars[i]!);
    if (w + cw > width) break;
    w += cw;
  }
  return chars.slice(0, i).join("");
}

function tailOf(chars: readonly string[], width: number): string {
  let w = 0;
  let i = chars.length;
  for (; i > 0; i--) {
    const cw = charWidth(chars[i - 1]!);
    if (w + cw > width) break;
    w += cw;
  }
  return chars.slice(i).join("");
}

/**
 * Cut safe text to `width` columns with an ellipsis: at the end (names,
 * commands) or in the middle (paths, whose base name matters most).
 */
export function truncateText(text: string, width: number, where: "end" | "middle" = "end"): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 1) return width === 1 ? "…" : "";
  const chars = [...text];
  if (where === "end") return headOf(chars, width - 1) + "…";
  const tail = Math.ceil((width - 1) / 2);
  return headOf(chars, width - 1 - tail) + "…" + tailOf(chars, tail);
}
