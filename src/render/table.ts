/**
 * Plain, borderless tables for the terminal: our own column formatter.
 *
 * cli-table3 (used before) measured every cell with string-width and laid
 * out the whole table as one object: `maps` of a process with 20,000
 * mappings took 209 s against 0.77 s for --json, and `pages --addr` grew
 * worse than linearly. This one costs what printing costs: each cell is
 * made once, widths come from known column maxima (sizes: the largest
 * value, known before any row is printed) and from a first window of rows
 * (text), and rows are written in chunks as they are made, so a long table
 * never exists as one string and `| head` stops it early.
 *
 * Every text cell goes through safeText (names from /proc are untrusted);
 * widths are measured on that escaped form. Given a terminal width, the
 * table fits it: columns that may be cut (names, paths) are cut first to a
 * readable width, then the least useful columns (the highest `drop`) are
 * left out, and what was done is reported through `fit` for one note.
 */
import { chunkedWriter, type Write } from "./chunked-writer.js";
import { displayWidth, safeText, truncateText } from "./safe-text.js";
import { columnUnit, formatInColumn, type ColumnUnit, type Unit } from "./units.js";

export interface Column<R> {
  readonly header: string;
  readonly align?: "left" | "right";
  /** The cell's text (made safe for the terminal here). */
  readonly value?: (row: R) => string;
  /** `value` already returns safe text (it went through safeText, e.g. to cut a command at its escaped width). */
  readonly safe?: boolean;
  /** A size in bytes, printed in one unit for the whole column; null prints "-", undefined an empty cell. */
  readonly size?: (row: R) => number | null | undefined;
  /** Left out to fit a narrow terminal, highest first; columns without it always stay. */
  readonly drop?: number;
  /** May be cut to fit a narrow terminal: with an ellipsis at the end, or in the middle (paths). */
  readonly cut?: "end" | "middle";
}

/** What fitting a table to the terminal did, collected over all the tables of one command for one note. */
export interface FitReport {
  readonly dropped: string[];
  cut: boolean;
}

export function newFitReport(): FitReport {
  return { dropped: [], cut: false };
}

/** The one stderr note a fitted table needs, or undefined when nothing was left out or cut. */
export function fitNote(fit: FitReport, width: number): string | undefined {
  if (fit.dropped.length === 0 && !fit.cut) return undefined;
  const parts: string[] = [];
  if (fit.dropped.length > 0) parts.push(`left out ${[...new Set(fit.dropped)].join(", ")}`);
  if (fit.cut) parts.push("cut long names (…)");
  return `to fit the terminal's ${width} columns the table ${parts.join(" and ")}: --wide shows everything`;
}

export interface TableOptions {
  /** Units for size columns (default human). */
  readonly unit?: Unit;
  /** Terminal width to fit; undefined (piped output, --wide) prints every column whole. */
  readonly width?: number;
  /** Collects what fitting did. */
  readonly fit?: FitReport;
}

const GAP = "  ";
/** Rows whose text decides the width of text columns; later rows that are wider push their line right. */
const WIDTH_WINDOW = 2048;
/** A cut column keeps at least this many columns before others are left out. */
const READABLE = 24;
/** ...and never fewer than this. */
const NARROWEST = 8;

interface Layout {
  /** Indices of the columns printed, in order. */
  readonly kept: number[];
  readonly widths: number[];
  /** Cut width per column, or undefined to print whole. */
  readonly cutTo: (number | undefined)[];
}

/** Choose the columns and their widths for `width` terminal columns. */
function fitLayout<R>(columns: readonly Column<R>[], natural: readonly number[], width: number | undefined, fit: FitReport | undefined): Layout {
  const all = columns.map((_, i) => i);
  const cutTo: (number | undefined)[] = columns.map(() => undefined);
  if (width === undefined) return { kept: all, widths: [...natural], cutTo };
  let kept = all;
  const widths = [...natural];
  for (;;) {
    const cuts = kept.filter((i) => columns[i]!.cut !== undefined);
    const fixed = kept.filter((i) => columns[i]!.cut === undefined).reduce((s, i) => s + natural[i]!, 0) + GAP.length * (kept.length - 1);
    const avail = width - fixed;
    const need = cuts.reduce((s, i) => s + natural[i]!, 0);
    if (need <= avail) break;
    const readable = cuts.reduce((s, i) => s + Math.min(natural[i]!, Math.max(READABLE, columns[i]!.header.length)), 0);
    const droppable = kept.filter((i) => columns[i]!.drop !== undefined);
    if (avail < readable && droppable.length > 0) {
      // Leave out the least useful column (highest drop; the rightmost among equals) and try again.
      const worst = droppable.reduce((a, b) => (columns[b]!.drop! >= columns[a]!.drop! ? b : a));
      kept = kept.filter((i) => i !== worst);
      fit?.dropped.push(columns[worst]!.header);
      continue;
    }
    // Share what is left among the cut columns, narrowest first so each gets what it needs when it can.
    let left = avail;
    const order = [...cuts].sort((a, b) => natural[a]! - natural[b]!);
    order.forEach((i, k) => {
      const share = Math.floor(left / (order.length - k));
      const w = Math.max(Math.min(natural[i]!, share), Math.min(natural[i]!, Math.max(NARROWEST, columns[i]!.header.length)));
      if (w < natural[i]!) {
        cutTo[i] = w;
        widths[i] = w;
        if (fit) fit.cut = true;
      }
      left -= w;
    });
    break;
  }
  return { kept, widths, cutTo };
}

/**
 * Write a table through `write`. `footer` rows (totals) follow a blank line.
 * The last column (commands, paths) is never padded; lines carry no trailing spaces.
 */
export function writeTable<R>(write: Write, columns: readonly Column<R>[], rows: readonly R[], footer: readonly R[] = [], o: TableOptions = {}): void {
  const unit = o.unit ?? "human";
  const n = columns.length;
  // Size columns: one unit each, from the largest value of the rows (totals follow it: rows are
  // what is compared); the width follows from the largest value, totals included.
  const units: (ColumnUnit | undefined)[] = new Array(n);
  const natural: number[] = columns.map((c) => displayWidth(c.header));
  for (let j = 0; j < n; j++) {
    const get = columns[j]!.size;
    if (!get) continue;
    let max = 0;
    let negative = false;
    let dash = false;
    const see = (r: R): void => {
      const v = get(r);
      if (v === null) dash = true;
      else if (v !== undefined) {
        if (Math.abs(v) > max) max = Math.abs(v);
        if (v < 0) negative = true;
      }
    };
    for (let i = 0; i < rows.length; i++) see(rows[i]!);
    const rowsMax = max;
    for (const r of footer) see(r);
    units[j] = columnUnit(rows.length > 0 ? rowsMax : max, unit);
    natural[j] = Math.max(natural[j]!, formatInColumn(max, units[j]!).length + (negative ? 1 : 0), dash ? 1 : 0);
  }
  const cell = (c: Column<R>, j: number, r: R): string => {
    if (c.size) {
      const v = c.size(r);
      return v === undefined ? "" : v === null ? "-" : formatInColumn(v, units[j]!);
    }
    const text = c.value ? c.value(r) : "";
    return c.safe ? text : safeText(text);
  };
  // Text columns: widths from the first window of rows and the footer; those cells are kept, not made twice.
  const windowRows = Math.min(rows.length, WIDTH_WINDOW);
  const windowCells: string[] = new Array(windowRows * n);
  const footerCells: string[] = new Array(footer.length * n);
  const measure = (cells: string[], at: number, r: R): void => {
    for (let j = 0; j < n; j++) {
      const c = columns[j]!;
      const text = cell(c, j, r);
      cells[at + j] = text;
      if (!c.size) {
        const w = displayWidth(text);
        if (w > natural[j]!) natural[j] = w;
      }
    }
  };
  for (let i = 0; i < windowRows; i++) measure(windowCells, i * n, rows[i]!);
  footer.forEach((r, i) => measure(footerCells, i * n, r));

  const layout = fitLayout(columns, natural, o.width, o.fit);
  const { kept, widths, cutTo } = layout;
  const last = kept[kept.length - 1];
  const line = (cells: readonly string[], at: number): string => {
    let s = "";
    for (let k = 0; k < kept.length; k++) {
      const j = kept[k]!;
      let text = cells[at + j]!;
      const limit = cutTo[j];
      if (limit !== undefined) text = truncateText(text, limit, columns[j]!.cut);
      if (k > 0) s += GAP;
      const pad = widths[j]! - (columns[j]!.size ? text.length : displayWidth(text));
      if (pad <= 0) s += text;
      else if ((columns[j]!.align ?? "right") === "right") s += " ".repeat(pad) + text;
      else s += j === last ? text : text + " ".repeat(pad);
    }
    return s.trimEnd() + "\n";
  };
  const out = chunkedWriter(write);
  out.push(line(columns.map((c) => safeText(c.header)), 0));
  for (let i = 0; i < windowRows; i++) out.push(line(windowCells, i * n));
  const cells: string[] = new Array(n);
  for (let i = windowRows; i < rows.length; i++) {
    const r = rows[i]!;
    for (let j = 0; j < n; j++) cells[j] = cell(columns[j]!, j, r);
    out.push(line(cells, 0));
  }
  if (footer.length > 0) {
    out.push("\n");
    for (let i = 0; i < footer.length; i++) out.push(line(footerCells, i * n));
  }
  out.end();
}

/** The table as one string (small tables, tests); long ones should be written with writeTable. */
export function renderTable<R>(columns: readonly Column<R>[], rows: readonly R[], footer: readonly R[] = [], o: TableOptions = {}): string {
  const parts: string[] = [];
  writeTable((t) => parts.push(t), columns, rows, footer, o);
  return parts.join("");
}

/** RFC 4180 CSV: fields with commas, quotes or newlines are quoted. */
export function renderCsv(headers: readonly string[], rows: readonly (readonly (string | number | null | boolean)[])[]): string {
  const parts: string[] = [];
  writeCsv((t) => parts.push(t), headers, rows);
  return parts.join("");
}

/**
 * CSV, written in chunks. Fields keep their true text (a script reading CSV
 * gets the real name, as in JSON), except that control characters other
 * than newline are written escaped so that `cat file.csv` cannot drive
 * the terminal; quoted newlines are CSV's own.
 */
export function writeCsv(write: Write, headers: readonly string[], rows: Iterable<readonly (string | number | null | boolean)[]>): void {
  const esc = (v: string | number | null | boolean): string => {
    if (v === null) return "";
    if (typeof v !== "string") return String(v);
    const s = csvSafe(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const out = chunkedWriter(write);
  out.push(headers.map(esc).join(",") + "\n");
  for (const r of rows) out.push(r.map(esc).join(",") + "\n");
  out.end();
}

/** Terminal-active characters other than newline: escaped as in tables (backslash left alone, as CSV has its own quoting). */
const CSV_UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;
const CSV_UNSAFE_ALL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

function csvSafe(s: string): string {
  return CSV_UNSAFE.test(s) ? s.replace(CSV_UNSAFE_ALL, (ch) => safeText(ch)) : s;
}

/**
 * The CSV form of a table: the same columns, headers lowercased, sizes in
 * bytes (PSS may be fractional, as in --json), empty for "-" and blank
 * cells, text as it is (see writeCsv). Footer rows are left out: CSV rows
 * are data, and totals are a sum away.
 */
export function writeTableCsv<R>(write: Write, columns: readonly Column<R>[], rows: readonly R[]): void {
  const headers = columns.map((c) => c.header.toLowerCase().replace(/[^a-z0-9%]+/g, "_").replace(/^_|_$/g, "") || "name");
  function* cells(): Generator<(string | number | null)[]> {
    for (const r of rows) yield columns.map((c) => (c.size ? (c.size(r) ?? null) : c.value ? c.value(r) : null));
  }
  writeCsv(write, headers, cells());
}
