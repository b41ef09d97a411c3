/** /proc/PID/stat: only what pagelens needs from it. */

/** JavaScript's `\s` (what `trim()` and `split(/\s+/)` cut at), by UTF-16 code unit. */
function isSpace(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  if (c < 160) return false;
  return c === 160 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * Field 22, starttime: clock ticks after boot when the process started.
 * With the pid it names a process uniquely across a boot (a reused pid has
 * another start time). The command (field 2) may contain spaces and ")",
 * so fields are counted after the last ")". Undefined when malformed.
 * The fields are counted in place rather than split into ~50 strings:
 * discovery reads every process's stat (docs/performance.md, section 7).
 */
export function parseStatStartTime(text: string): number | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // Field 3 (state) is the first after ")", so field 22 is the 20th.
  let p = close + 1;
  const n = text.length;
  for (let field = 0; ; field++) {
    while (p < n && isSpace(text.charCodeAt(p))) p++;
    if (p === n) return undefined;
    const start = p;
    while (p < n && !isSpace(text.charCodeAt(p))) p++;
    if (field === 19) {
      const v = text.slice(start, p);
      return /^[0-9]+$/.test(v) ? Number(v) : undefined;
    }
  }
}
