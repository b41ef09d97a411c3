/**
 * Label values for /metrics. Command lines, user names and cgroup paths are
 * bytes any process can choose; a label value must never carry a control
 * byte into a dashboard or a terminal that prints a query result. They go
 * through safeText (the same visible escapes as the tables, so a command
 * reads the same in `pagelens ps` and in Grafana), then are cut to a bound:
 * a command line can be 128 KiB, and every byte of a label is stored with
 * every sample. Quotes, backslashes and newlines of the exposition format
 * are escaped by prom-client itself.
 */
import { safeText } from "../../render/safe-text.js";

/** Longest label value, in UTF-16 code units, before the ellipsis. */
export const LABEL_MAX = 120;

export function safeLabel(text: string, max = LABEL_MAX): string {
  const safe = safeText(text);
  if (safe.length <= max) return safe;
  // Never cut a surrogate pair in two (a lone surrogate is not UTF-8).
  let end = max;
  const c = safe.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${safe.slice(0, end)}…`;
}
