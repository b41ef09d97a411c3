/** /proc/PID/stat: only what pagelens needs from it. */

/**
 * Field 22, starttime: clock ticks after boot when the process started.
 * With the pid it names a process uniquely across a boot (a reused pid has
 * another start time). The command (field 2) may contain spaces and ")",
 * so fields are counted after the last ")". Undefined when malformed.
 */
export function parseStatStartTime(text: string): number | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const f = text.slice(close + 1).trim().split(/\s+/);
  // f[0] is field 3 (state), so field 22 is f[19].
  const v = f[19];
  return v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : undefined;
}
