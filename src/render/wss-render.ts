/**
 * `pagelens wss` as text: a preamble saying what the method sees, one line
 * per process per interval as the intervals come (fixed column widths, so
 * lines can be printed before the next interval exists), then a summary.
 * With --json: one JSON document per line, an interval at a time, then the
 * summary (JSON lines, so a consumer can follow a long measurement).
 */
import type { WssInterval, WssMappingRow, WssProcessRef, WssReport } from "../report/wss-report.js";
import { safeText } from "./safe-text.js";
import { formatSize, type Unit } from "./units.js";

/** The lines before the first interval: method, what it sees and misses, what it resets. */
export function renderWssPreamble(r: Pick<WssReport, "method" | "sees" | "misses" | "resets" | "intervalSeconds">): string {
  const lines = [
    `working set by ${r.method}, every ${r.intervalSeconds} s: ${r.sees}`,
    `not seen: ${r.misses}`,
  ];
  if (r.resets) lines.push(`reset (--reset): ${r.resets}`);
  return lines.map((l) => `# ${l}\n`).join("");
}

const HEADER = `${"INTERVAL".padStart(8)}  ${"SECONDS".padStart(7)}  ${"PID".padStart(7)}  ${"WSS".padStart(8)}  ${"RSS".padStart(8)}  ${"WSS%".padStart(5)}  COMMAND\n`;

function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(0)}%` : "-";
}

function mappingLines(rows: readonly WssMappingRow[], unit: Unit, indent: string): string {
  return rows
    .map((m) => `${indent}${formatSize(m.used, unit).padStart(8)}  ${formatSize(m.resident, unit).padStart(8)}  ${m.start}-${m.end} ${m.perms}  ${safeText(m.name)}\n`)
    .join("");
}

/** One interval's lines; the column header goes before the first. */
export function renderWssInterval(iv: WssInterval, processes: readonly WssProcessRef[], unit: Unit): string {
  let out = iv.index === 1 ? HEADER : "";
  const command = new Map(processes.map((p) => [p.pid, p.command]));
  for (const s of iv.processes) {
    const head = `${String(iv.index).padStart(8)}  ${iv.seconds.toFixed(1).padStart(7)}  ${String(s.pid).padStart(7)}  `;
    const name = safeText(command.get(s.pid) ?? "?");
    if (s.state === "exited") {
      out += `${head}${"-".padStart(8)}  ${"-".padStart(8)}  ${"-".padStart(5)}  ${name} (exited)\n`;
      continue;
    }
    out += `${head}${formatSize(s.used, unit).padStart(8)}  ${formatSize(s.resident, unit).padStart(8)}  ${percent(s.used, s.resident).padStart(5)}  ${name}\n`;
    if (s.mappings && s.mappings.length > 0) out += mappingLines(s.mappings, unit, " ".repeat(20));
  }
  return out;
}

/** The summary after the last interval. */
export function renderWssSummary(r: WssReport, unit: Unit): string {
  let out = `\nSummary over ${r.intervals.length} interval(s) of ${r.intervalSeconds} s (${r.method}):\n`;
  out += `${"PID".padStart(7)}  ${"N".padStart(4)}  ${"MIN".padStart(8)}  ${"MEDIAN".padStart(8)}  ${"MEAN".padStart(8)}  ${"MAX".padStart(8)}  ${"RSS".padStart(8)}  COMMAND\n`;
  for (const s of r.summary) {
    out +=
      `${String(s.pid).padStart(7)}  ${String(s.intervals).padStart(4)}  ${formatSize(s.min, unit).padStart(8)}  ${formatSize(s.median, unit).padStart(8)}  ` +
      `${formatSize(s.mean, unit).padStart(8)}  ${formatSize(s.max, unit).padStart(8)}  ${formatSize(s.resident, unit).padStart(8)}  ${safeText(s.command)}\n`;
    if (s.mappings && s.mappings.length > 0) {
      out += `${" ".repeat(9)}mean used by mapping:\n`;
      out += mappingLines(s.mappings, unit, " ".repeat(9));
    }
  }
  return out;
}

/** JSON lines: an interval. */
export function renderWssIntervalJson(iv: WssInterval): string {
  return JSON.stringify({ type: "interval", ...iv }) + "\n";
}

/** JSON lines: the closing document, everything but the intervals already printed. */
export function renderWssSummaryJson(r: WssReport): string {
  const { intervals, ...rest } = r;
  return JSON.stringify({ type: "summary", ...rest, intervalCount: intervals.length }) + "\n";
}
