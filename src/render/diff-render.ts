/** `pagelens diff`: the report as tables (largest change first) or one JSON document. */
import type { DiffProcess, DiffReport, Sizes } from "../report/diff-report.js";
import { safeText } from "./safe-text.js";
import { renderTable, type Column } from "./table.js";
import { formatSize, type Unit } from "./units.js";

const signed = (n: number, unit: Unit): string => (n > 0 ? `+${formatSize(n, unit)}` : n < 0 ? `-${formatSize(-n, unit)}` : "0");

function deltaColumns<R>(get: (r: R) => Sizes, unit: Unit): Column<R>[] {
  return (["rss", "pss", "uss", "swap"] as const).map((k) => ({ header: `Δ${k.toUpperCase()}`, value: (r: R) => signed(get(r)[k], unit) }));
}

function section(title: string, body: string, shown: number, total: number): string {
  const more = shown < total ? ` (${shown} of ${total} shown; --limit 0 for all)` : "";
  return `${title}${more}:\n${body}\n`;
}

export function renderDiffTable(r: DiffReport, unit: Unit, limit: number): string {
  const cut = <T>(rows: readonly T[]): readonly T[] => (limit > 0 ? rows.slice(0, limit) : rows);
  let out = `A: ${safeText(r.a.source)} (${r.a.takenAt})\nB: ${safeText(r.b.source)} (${r.b.takenAt})\n\n`;
  out += renderTable<{ label: string; s: Sizes }>(
    [{ header: "", align: "left", value: (x) => x.label }, ...(["rss", "pss", "uss", "swap"] as const).map((k) => ({ header: k.toUpperCase(), value: (x: { label: string; s: Sizes }) => (x.label === "change" ? signed(x.s[k], unit) : formatSize(x.s[k], unit)) }))],
    [
      { label: "A", s: r.totals.before },
      { label: "B", s: r.totals.after },
      { label: "change", s: r.totals.delta },
    ],
  );
  out += `\n${r.changed.length} changed, ${r.appeared.length} appeared, ${r.left.length} left (processes matched by pid and start time)\n\n`;
  if (r.changed.length > 0) {
    const rows = cut(r.changed);
    const body = renderTable([{ header: "PID", value: (c: (typeof rows)[number]) => String(c.pid) }, ...deltaColumns((c: (typeof rows)[number]) => c.delta, unit), { header: "PSS NOW", value: (c) => formatSize(c.after.pss, unit) }, { header: "COMMAND", align: "left", value: (c) => safeText(c.command) }], rows);
    out += section("What changed, largest first", body, rows.length, r.changed.length) + "\n";
  }
  const procTable = (list: readonly DiffProcess[]): string =>
    renderTable([{ header: "PID", value: (p: DiffProcess) => String(p.pid) }, { header: "RSS", value: (p) => formatSize(p.rss, unit) }, { header: "PSS", value: (p) => formatSize(p.pss, unit) }, { header: "USS", value: (p) => formatSize(p.uss, unit) }, { header: "SWAP", value: (p) => formatSize(p.swap, unit) }, { header: "COMMAND", align: "left", value: (p) => safeText(p.command) }], list);
  if (r.appeared.length > 0) out += section("Appeared", procTable(cut(r.appeared)), Math.min(cut(r.appeared).length, r.appeared.length), r.appeared.length) + "\n";
  if (r.left.length > 0) out += section("Left", procTable(cut(r.left)), Math.min(cut(r.left).length, r.left.length), r.left.length) + "\n";
  if (r.libraries.length > 0) {
    const rows = cut(r.libraries);
    const body = renderTable([...deltaColumns((l: (typeof rows)[number]) => l.delta, unit), { header: "", align: "left", value: (l) => (l.status === "changed" ? "" : l.status) }, { header: "NAME", align: "left", value: (l) => safeText(l.name) }], rows);
    out += section("Libraries and mappings by name", body, rows.length, r.libraries.length) + "\n";
  }
  for (const m of r.mappings) {
    const rows = cut(m.mappings);
    const body =
      rows.length === 0
        ? "  no change\n"
        : renderTable([{ header: "START", value: (x: (typeof rows)[number]) => x.start }, { header: "PERMS", value: (x) => x.perms }, ...deltaColumns((x: (typeof rows)[number]) => x.delta, unit), { header: "", align: "left", value: (x) => (x.status === "changed" ? "" : x.status) }, { header: "NAME", align: "left", value: (x) => safeText(x.name) }], rows);
    out += section(`Mappings of ${m.pid} (${safeText(m.command)})`, body, rows.length, m.mappings.length) + "\n";
  }
  return out;
}

export function renderDiffJson(r: DiffReport): string {
  return JSON.stringify(r, null, 2) + "\n";
}
