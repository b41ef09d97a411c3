/**
 * One screen of top as lines of text with a style each, pure: model in,
 * lines out. The screen module draws them with the terminal library; batch
 * mode (stdout not a terminal) prints them. Every name from /proc passes
 * through safeText here, the one place top turns names into text.
 */
import { formatSize } from "../../render/units.js";
import { displayWidth, safeText, truncateText } from "../../render/safe-text.js";
import { KEY_HELP, type UiState } from "./keys.js";
import { clampScroll, deltaKey, type MachineTotals, type TopRow, type TopViewName } from "./model.js";

export type LineStyle = "title" | "normal" | "note" | "columns" | "status" | "new";

export interface Line {
  readonly text: string;
  readonly style: LineStyle;
}

export interface FrameInput {
  readonly ui: UiState;
  /** Rows of the current view, already arranged (filtered, sorted); undefined before the view's first data. */
  readonly rows: readonly TopRow[] | undefined;
  /** Rows of the view before the filter. */
  readonly unfiltered: number;
  readonly added: number;
  readonly gone: number;
  readonly machine: MachineTotals | undefined;
  readonly scanMs: number | undefined;
  readonly mode: "pagemap" | "smaps_rollup" | undefined;
  /** Processes whose memory could not be read. */
  readonly unreadable: number;
  /** Why the numbers come from smaps_rollup (mode "smaps_rollup"). */
  readonly fallbackReason: string | undefined;
  readonly intervalMs: number;
  readonly scanning: boolean;
  /** When the shown data was taken (local time text), or undefined. */
  readonly takenAt: string | undefined;
  /** Why the last refresh failed, if it did (the previous data stays on screen). */
  readonly error: string | undefined;
  readonly width: number;
  /** Lines available; Infinity prints every row (batch mode). */
  readonly height: number;
}

/** What the caller needs back besides the lines: the scroll actually used (clamped) and the page size. */
export interface Frame {
  readonly lines: Line[];
  readonly scroll: number;
  readonly page: number;
}

const VIEW_TITLE: Readonly<Record<TopViewName, string>> = { processes: "processes", users: "users", cgroups: "memory cgroups", libraries: "libraries and mappings" };
const NAME_HEADING: Readonly<Record<TopViewName, string>> = { processes: "COMMAND", users: "USER", cgroups: "CGROUP", libraries: "MAPPING" };
const SORT_LABEL: Readonly<Record<UiState["sort"], string>> = { pss: "PSS", uss: "USS", rss: "RSS", swap: "SWAP", name: "name" };

const size = (n: number | null): string => (n === null ? "?" : formatSize(n));

/** A signed size: "+1.2M", "-12K", "0". */
export function formatDelta(n: number): string {
  const s = formatSize(n);
  return s === "0" || s.startsWith("-") ? s : `+${s}`;
}

function seconds(ms: number): string {
  return ms >= 10_000 || ms % 1000 === 0 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** Cut or pad plain text to exactly `width` columns. */
function fit(text: string, width: number): string {
  const t = truncateText(text, width);
  return t + " ".repeat(Math.max(0, width - displayWidth(t)));
}

/** Words wrapped to `width` columns (for the notes). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && displayWidth(line) + 1 + displayWidth(word) > width) {
      out.push(line);
      line = "  " + word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") out.push(line);
  return out;
}

/** The header: what the numbers are and where they come from. */
function header(f: FrameInput): Line[] {
  const w = f.width;
  const lines: Line[] = [];
  const state = f.scanning ? "scanning…" : f.scanMs !== undefined ? `scan ${Math.round(f.scanMs)} ms` : "";
  const mode = f.mode === undefined ? "" : `  mode ${f.mode}`;
  lines.push({ text: fit(`pagelens top - ${VIEW_TITLE[f.ui.view]}   every ${seconds(f.intervalMs)}, ${state}${mode}${f.takenAt ? `   ${f.takenAt}` : ""}`, w), style: "title" });
  const m = f.machine;
  if (m !== undefined) {
    const parts = [
      `memory used ${size(m.used)} of ${size(m.total)}`,
      `page cache ${size(m.pageCache)}${m.shmem !== null ? ` (shmem ${size(m.shmem)})` : ""}`,
      `available ${size(m.available)}`,
      m.swapTotal === 0 ? "swap off" : `swap used ${size(m.swapUsed)} of ${size(m.swapTotal)}`,
    ];
    lines.push({ text: fit(parts.join("   "), w), style: "normal" });
  }
  if (f.mode === "smaps_rollup") {
    const others = f.unreadable > 0 ? ` ${f.unreadable} other users' processes cannot be read at all (shown as -).` : "";
    for (const l of wrap(
      `smaps_rollup fallback (${f.fallbackReason ?? "no page-level data"}): numbers are the kernel's own totals per process. ` +
        `Missing: exact USS (shown: Private_Clean + Private_Dirty), page flags, distinct-page totals, group USS.${others} Run as root for page-level numbers.`,
      w,
    ))
      lines.push({ text: fit(l, w), style: "note" });
  }
  if (f.error !== undefined) lines.push({ text: fit(`last refresh failed (showing the one before): ${f.error}`, w), style: "note" });
  const what = f.ui.view === "processes" ? "processes" : f.ui.view === "libraries" ? "names" : "groups";
  const shown = f.rows === undefined ? "" : f.ui.filter !== "" ? `${f.rows.length} of ${f.unfiltered} ${what}` : `${f.unfiltered} ${what}`;
  const moves = f.rows === undefined ? "" : `  (+${f.added} new, -${f.gone} gone since the last refresh)`;
  const filter = f.ui.editing ? `   filter: ${safeText(f.ui.filter)}_` : f.ui.filter !== "" ? `   filter: "${safeText(f.ui.filter)}" (Esc clears)` : "";
  lines.push({ text: fit(`${shown}${moves}   sort ${SORT_LABEL[f.ui.sort]}${f.ui.reverse ? " reversed" : ""}${filter}`, w), style: "normal" });
  return lines;
}

const SIZE_W = 7;
const DELTA_W = 8;

function columns(f: FrameInput): { heading: string; row: (r: TopRow) => string } {
  const dk = deltaKey(f.ui.sort);
  const D = SORT_LABEL[dk];
  const proc = f.ui.view === "processes";
  const lead = proc ? `${"PID".padStart(7)} ${"USER".padEnd(9)}` : `${"PROCS".padStart(6)}`;
  const fixed = `${lead} ${["RSS", "PSS", "USS", "SWAP"].map((h) => h.padStart(SIZE_W)).join(" ")} ${`Δ${D}/last`.padStart(DELTA_W + 2)} ${`Δ${D}/start`.padStart(DELTA_W + 3)} `;
  const nameW = Math.max(8, f.width - displayWidth(fixed));
  const where = f.ui.view === "cgroups" || f.ui.view === "libraries" ? "middle" : "end";
  return {
    heading: fit(fixed + NAME_HEADING[f.ui.view], f.width),
    row: (r) => {
      const l = proc ? `${String(r.pid ?? "").padStart(7)} ${fit(safeText(r.user), 9)}` : `${String(r.count ?? "").padStart(6)}`;
      const sizes = r.measured ? [r.rss, r.pss, r.uss, r.swap].map((n) => formatSize(n).padStart(SIZE_W)).join(" ") : ["-", "-", "-", "-"].map((x) => x.padStart(SIZE_W)).join(" ");
      const dl = !r.measured ? "" : r.isNew ? "new" : formatDelta(r.sincePrev[dk]);
      const ds = !r.measured ? "" : formatDelta(r.sinceStart[dk]);
      const text = `${l} ${sizes} ${dl.padStart(DELTA_W + 2)} ${ds.padStart(DELTA_W + 3)} ${truncateText(safeText(r.name), nameW, where)}`;
      return fit(text, f.width);
    },
  };
}

function helpLines(f: FrameInput): Line[] {
  const lines: Line[] = [{ text: fit("Keys", f.width), style: "columns" }];
  for (const [k, what] of KEY_HELP) lines.push({ text: fit(`  ${k.padEnd(14)} ${what}`, f.width), style: "normal" });
  lines.push({ text: "", style: "normal" });
  for (const l of wrap(
    "Deltas: Δ/last is the change since the previous refresh, Δ/start since top started (or since the view was first shown, for libraries); " +
      "a row that appeared later counts from zero. A process is one pid with one start time, so a reused pid is a new row.",
    f.width,
  ))
    lines.push({ text: fit(l, f.width), style: "normal" });
  return lines;
}

/** The whole screen. */
export function renderFrame(f: FrameInput): Frame {
  const lines = header(f);
  const status: Line = {
    text: fit(f.ui.editing ? "type to filter, Enter keeps it, Esc clears" : "q quit  p/u/r/s/n sort  R reverse  Tab view  / filter  ? help", f.width),
    style: "status",
  };
  const finite = Number.isFinite(f.height);
  if (f.ui.help) {
    lines.push(...helpLines(f));
    if (finite) {
      while (lines.length < f.height - 1) lines.push({ text: "", style: "normal" });
      lines.length = Math.min(lines.length, f.height - 1);
      lines.push(status);
    }
    return { lines, scroll: f.ui.scroll, page: 0 };
  }
  const cols = columns(f);
  lines.push({ text: cols.heading, style: "columns" });
  const page = finite ? Math.max(0, f.height - lines.length - 1) : Infinity;
  if (f.rows === undefined) {
    lines.push({ text: fit(f.scanning ? "scanning…" : "waiting for the next refresh…", f.width), style: "normal" });
    if (finite) {
      while (lines.length < f.height - 1) lines.push({ text: "", style: "normal" });
      lines.push(status);
    }
    return { lines, scroll: 0, page: finite ? page : 0 };
  }
  const scroll = finite ? clampScroll(f.ui.scroll, f.rows.length, page) : 0;
  const end = finite ? Math.min(f.rows.length, scroll + page) : f.rows.length;
  for (let i = scroll; i < end; i++) {
    const r = f.rows[i]!;
    lines.push({ text: cols.row(r), style: r.isNew ? "new" : "normal" });
  }
  if (f.rows.length === 0) lines.push({ text: fit(f.ui.filter !== "" ? `nothing matches "${safeText(f.ui.filter)}"` : "nothing to show", f.width), style: "normal" });
  if (finite) {
    while (lines.length < f.height - 1) lines.push({ text: "", style: "normal" });
    lines.length = Math.min(lines.length, f.height - 1);
    const more = f.rows.length > page ? `  rows ${scroll + 1}-${end} of ${f.rows.length}` : "";
    lines.push({ text: fit(status.text.trimEnd() + more, f.width), style: "status" });
  }
  return { lines, scroll, page: finite ? page : f.rows.length };
}
