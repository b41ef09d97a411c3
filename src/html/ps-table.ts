/**
 * The process table: sortable (click a header; again to reverse) and
 * filterable (one box matching command, user or pid). Rows carry their
 * figures in data attributes (bytes), the cells show them in binary units.
 */
import type { ProcessRow } from "../report/process-report.js";
import type { HtmlReport } from "../report/html-report.js";
import { bytes, el, safeText } from "./format.js";

type Key = "pid" | "user" | "command" | "vss" | "rss" | "pss" | "uss" | "swap";
const COLUMNS: ReadonlyArray<{ key: Key; label: string; size: boolean }> = [
  { key: "pid", label: "PID", size: false },
  { key: "user", label: "User", size: false },
  { key: "command", label: "Command", size: false },
  { key: "vss", label: "VSS", size: true },
  { key: "rss", label: "RSS", size: true },
  { key: "pss", label: "PSS", size: true },
  { key: "uss", label: "USS", size: true },
  { key: "swap", label: "Swap", size: true },
];

/** Does a row match the filter text: a pid (exactly), or a substring of the command, comm or user (any case)? */
export function matchesFilter(p: ProcessRow, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === "") return true;
  if (/^\d+$/.test(t) && String(p.pid) === t) return true;
  return p.command.toLowerCase().includes(t) || p.comm.toLowerCase().includes(t) || p.user.toLowerCase().includes(t);
}

export class PsTable {
  readonly root: HTMLElement;
  private key: Key = "pss";
  private desc = true;
  private filter = "";
  private rows: readonly ProcessRow[] = [];
  private mapped = new Set<number>();
  private readonly body: HTMLTableSectionElement;
  private readonly heads: HTMLTableCellElement[];
  private readonly count: HTMLElement;

  constructor(private readonly onPick: (pid: number) => void) {
    this.heads = COLUMNS.map((c) => {
      const th = el("th", { "data-key": c.key, class: c.size ? "num" : undefined, title: "sort" }, c.label);
      th.addEventListener("click", () => this.sortBy(c.key));
      return th;
    });
    this.body = el("tbody");
    const input = el("input", { id: "ps-filter", type: "search", placeholder: "filter: command, user or pid", autocomplete: "off" });
    input.addEventListener("input", () => {
      this.filter = input.value;
      this.draw();
    });
    this.count = el("span", { id: "ps-count", class: "hint" });
    this.root = el(
      "section",
      { id: "processes" },
      el("h2", {}, "Processes"),
      el("div", { class: "controls" }, input, " ", this.count),
      el("div", { class: "scroll" }, el("table", { id: "ps-table" }, el("thead", {}, el("tr", {}, ...this.heads)), this.body)),
    );
  }

  sortBy(key: Key): void {
    if (this.key === key) this.desc = !this.desc;
    else {
      this.key = key;
      // Sizes largest first, names and pids in ascending order.
      this.desc = COLUMNS.find((c) => c.key === key)!.size;
    }
    this.draw();
  }

  update(r: HtmlReport): void {
    this.rows = r.ps.processes;
    this.mapped = new Set(r.addressMaps.map((m) => m.pid));
    this.draw();
  }

  private draw(): void {
    const k = this.key;
    const dir = this.desc ? -1 : 1;
    const rows = this.rows
      .filter((p) => matchesFilter(p, this.filter))
      .sort((a, b) => {
        const x = a[k];
        const y = b[k];
        const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return c !== 0 ? c * dir : a.pid - b.pid;
      });
    for (const th of this.heads) {
      th.classList.toggle("sorted", th.dataset["key"] === k);
      th.dataset["dir"] = th.dataset["key"] === k ? (this.desc ? "desc" : "asc") : "";
    }
    const frag = document.createDocumentFragment();
    for (const p of rows) {
      const tr = el("tr", { "data-pid": p.pid, class: this.mapped.has(p.pid) ? "has-map" : undefined });
      for (const c of COLUMNS) {
        const v = p[c.key];
        const shown = c.size ? bytes(v as number) : c.key === "pid" ? String(v) : safeText(String(v));
        tr.append(el("td", { "data-key": c.key, "data-value": c.size ? String(v) : undefined, class: c.size ? "num" : undefined, title: c.key === "command" ? shown : undefined }, shown));
      }
      tr.addEventListener("click", () => this.onPick(p.pid));
      frag.append(tr);
    }
    this.body.replaceChildren(frag);
    this.count.textContent = `${rows.length} of ${this.rows.length} processes; rows in bold have an address map (click one)`;
  }
}
