/** Plain, borderless, right-aligned tables for the terminal (cli-table3 with its borders turned off). */
import Table from "cli-table3";

export interface Column<R> {
  readonly header: string;
  readonly align?: "left" | "right";
  readonly value: (row: R) => string;
}

const NO_BORDER = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
};

/**
 * Render rows as a table. `footer` rows (totals) are separated by a blank
 * line. The last column may be long (commands, paths) and is never padded.
 */
export function renderTable<R>(columns: readonly Column<R>[], rows: readonly R[], footer: readonly R[] = []): string {
  const table = new Table({
    head: columns.map((c) => c.header),
    chars: NO_BORDER,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0, compact: true },
    colAligns: columns.map((c) => c.align ?? "right"),
  });
  for (const r of rows) table.push(columns.map((c) => c.value(r)));
  if (footer.length > 0) {
    table.push(columns.map(() => ""));
    for (const r of footer) table.push(columns.map((c) => c.value(r)));
  }
  return (
    table
      .toString()
      .split("\n")
      .map((l) => l.trimEnd())
      .join("\n") + "\n"
  );
}

/** RFC 4180 CSV: fields with commas, quotes or newlines are quoted. */
export function renderCsv(headers: readonly string[], rows: readonly (readonly (string | number | null | boolean)[])[]): string {
  const esc = (v: string | number | null | boolean): string => {
    const s = v === null ? "" : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [headers, ...rows].map((r) => r.map(esc).join(",")).join("\n") + "\n";
}
