/**
 * The other sections of the page: the machine's reconciliation (system),
 * groups by user, memory cgroup and unit, libraries, who shares with whom,
 * and the flags census. Charts where a picture helps, tables for the rest.
 */
import type { GroupsReport } from "../report/groups-report.js";
import type { HtmlReport } from "../report/html-report.js";
import { LazyChart, TOOLTIP } from "./charts.js";
import { bytes, el, safeText, tip } from "./format.js";

type Cell = string | number | null;

/** A table whose size columns (`sizes`, by index) show binary units and keep bytes in data-value. */
function table(id: string, head: readonly string[], rows: readonly Cell[][], sizes: ReadonlySet<number>): HTMLTableElement {
  const t = el("table", { id });
  t.append(el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", { class: sizes.has(i) ? "num" : undefined }, h)))));
  const body = el("tbody");
  for (const r of rows) {
    const tr = el("tr");
    r.forEach((c, i) => {
      if (sizes.has(i) && typeof c === "number") tr.append(el("td", { class: "num", "data-value": c }, bytes(c)));
      else tr.append(el("td", {}, c === null ? "-" : typeof c === "number" ? String(c) : safeText(c)));
    });
    body.append(tr);
  }
  t.append(body);
  return t;
}

export class SystemSection {
  readonly root: HTMLElement;
  private readonly lazy: LazyChart;
  private readonly notes = el("ul", { class: "notes" });
  private readonly box = el("div", { id: "system-chart", class: "chart" });

  constructor() {
    this.root = el("section", { id: "system" }, el("h2", {}, "The machine's memory, reconciled"), el("p", { class: "hint" }, "MemTotal split into lines that do not overlap, each from its source (the scan, the kpageflags census or /proc/meminfo), as pagelens system prints it."), this.box, this.notes);
    this.lazy = new LazyChart(this.box);
  }

  update(r: HtmlReport): void {
    const s = r.system;
    const lines = [...s.lines].reverse();
    this.box.dataset["memTotal"] = String(s.memTotal);
    this.box.style.height = `${Math.max(200, lines.length * 28 + 40)}px`;
    this.lazy.run("option", () => this.lazy.chart.setOption({
      grid: { left: 260, right: 90, top: 10, bottom: 30 },
      tooltip: {
        ...TOOLTIP,
        trigger: "item",
        formatter: (p: { dataIndex: number }) => {
          const l = lines[p.dataIndex]!;
          return tip(l.label, [["bytes", bytes(l.bytes)], ["source", l.source], ["how", l.how], ...l.parts.map((x) => [`  ${x.label}`, bytes(x.bytes)] as const)]);
        },
      },
      xAxis: { type: "value", axisLabel: { formatter: (v: number) => bytes(v) } },
      yAxis: { type: "category", data: lines.map((l) => l.label) },
      series: [{ id: "lines", type: "bar", data: lines.map((l) => l.bytes), itemStyle: { color: "#2e86de" }, label: { show: true, position: "right", formatter: (p: { value: number }) => bytes(p.value) } }],
    }));
    this.notes.replaceChildren(...s.notes.map((n) => el("li", {}, safeText(n))));
  }
}

const GROUP_KEYS = ["user", "cgroup", "unit"] as const;
type GroupKey = (typeof GROUP_KEYS)[number];

export class GroupsSection {
  readonly root: HTMLElement;
  private by: GroupKey = "user";
  private report: HtmlReport | undefined;
  private readonly lazy: LazyChart;
  private readonly box = el("div", { id: "groups-chart", class: "chart" });
  private readonly holder = el("div", { class: "scroll" });
  private readonly buttons: HTMLButtonElement[];

  constructor() {
    this.buttons = GROUP_KEYS.map((k) => {
      const b = el("button", { type: "button", "data-by": k }, k);
      b.addEventListener("click", () => {
        this.by = k;
        if (this.report) this.update(this.report);
      });
      return b;
    });
    this.root = el(
      "section",
      { id: "groups" },
      el("h2", {}, "Groups"),
      el("div", { class: "controls" }, "By: ", ...this.buttons),
      el("p", { class: "hint" }, "Group USS: memory only this group's processes map, which would be freed if they all exited. Shared outside: memory they map that other groups map too."),
      this.box,
      this.holder,
    );
    this.lazy = new LazyChart(this.box);
  }

  update(r: HtmlReport): void {
    this.report = r;
    for (const b of this.buttons) b.classList.toggle("on", b.dataset["by"] === this.by);
    const g: GroupsReport = r.groups[this.by];
    const top = g.groups.slice(0, 15);
    const names = top.map((x) => safeText(x.label));
    this.lazy.run("option", () => this.lazy.chart.setOption(
      {
        grid: { left: 60, right: 20, top: 30, bottom: 90 },
        legend: { top: 0 },
        tooltip: { ...TOOLTIP, trigger: "item", formatter: (p: { seriesName: string; dataIndex: number; value: number }) => tip(names[p.dataIndex] ?? "", [[p.seriesName, bytes(p.value)]]) },
        xAxis: { type: "category", data: names, axisLabel: { rotate: 30, interval: 0, width: 140, overflow: "truncate" } },
        yAxis: { type: "value", axisLabel: { formatter: (v: number) => bytes(v) } },
        series: [
          { id: "pss", name: "PSS", type: "bar", data: top.map((x) => x.pss) },
          { id: "uss", name: "USS (sum)", type: "bar", data: top.map((x) => x.uss) },
          { id: "group-uss", name: "group USS", type: "bar", data: top.map((x) => x.groupUss ?? 0) },
        ],
      },
      { replaceMerge: ["series"] },
    ));
    this.holder.replaceChildren(
      table(
        "groups-table",
        [this.by, "processes", "RSS", "PSS", "USS (sum)", "group USS", "shared outside", "swap"],
        g.groups.map((x) => [x.label, x.processes, x.rss, x.pss, x.uss, x.groupUss, x.sharedOutside, x.swap]),
        new Set([2, 3, 4, 5, 6, 7]),
      ),
    );
  }
}

export class LibsSection {
  readonly root: HTMLElement;
  private readonly holder = el("div", { class: "scroll" });
  constructor() {
    this.root = el("section", { id: "libs" }, el("h2", {}, "Libraries and mapped files"), el("p", { class: "hint" }, "Each name summed over every process that maps it (pagelens libs), largest PSS first."), this.holder);
  }
  update(r: HtmlReport): void {
    this.holder.replaceChildren(
      table(
        "libs-table",
        ["name", "processes", "RSS", "PSS", "USS", "swap"],
        r.libs.libraries.map((l) => [l.name, l.count, l.rss, l.pss, l.uss, l.swap]),
        new Set([2, 3, 4, 5]),
      ),
    );
  }
}

export class SharesSection {
  readonly root: HTMLElement;
  private readonly holder = el("div", { class: "scroll" });
  private readonly box = el("div", { id: "shares-chart", class: "chart" });
  private readonly lazy: LazyChart;
  constructor() {
    this.root = el(
      "section",
      { id: "shares" },
      el("h2", {}, "Who shares with whom"),
      el("p", { class: "hint" }, "The top processes by PSS (circles sized by PSS) and the memory each pair maps in common (lines as thick as the bytes), by kind of page (pagelens shares)."),
      this.box,
      this.holder,
    );
    this.lazy = new LazyChart(this.box);
  }
  update(r: HtmlReport): void {
    const s = r.shares;
    if (!s) {
      this.box.style.display = "none";
      this.holder.replaceChildren(el("p", { class: "hint" }, "Not available: who shares which pages needs page frame numbers (run as root)."));
      return;
    }
    this.box.style.display = "";
    const maxPss = Math.max(1, ...s.processes.map((p) => p.pss));
    const maxPair = Math.max(1, ...s.pairs.map((p) => p.bytes));
    // On a circle, placed here (layout "none"): the positions are ours, so the lines meet their circles.
    const n = s.processes.length;
    const nodes = s.processes.map((p, i) => ({
      name: `${safeText(p.command.split(" ")[0] ?? "")} (${p.pid})`,
      x: 100 * Math.cos((2 * Math.PI * i) / n - Math.PI / 2),
      y: 100 * Math.sin((2 * Math.PI * i) / n - Math.PI / 2),
      value: p.pss,
      symbolSize: 12 + 40 * Math.sqrt(p.pss / maxPss),
      row: p,
    }));
    // Links name their ends by index: names may repeat (same command) and ids are not matched everywhere.
    const index = new Map(s.processes.map((p, i) => [p.pid, i]));
    const edges = s.pairs
      .filter((p) => index.has(p.a.pid) && index.has(p.b.pid))
      .map((p) => ({ source: index.get(p.a.pid)!, target: index.get(p.b.pid)!, value: p.bytes, lineStyle: { width: 1 + 9 * (p.bytes / maxPair) }, pair: p }));
    this.lazy.run("option", () => this.lazy.chart.setOption(
      {
        animation: false,
        tooltip: {
          ...TOOLTIP,
          formatter: (e: { dataType: string; data: (typeof nodes)[number] & (typeof edges)[number] }) => {
            if (e.dataType === "edge") {
              const p = e.data.pair;
              return tip(`${p.a.pid} and ${p.b.pid}`, [["shared", bytes(p.bytes)], ["file", bytes(p.file)], ["shmem", bytes(p.shmem)], ["copy-on-write", bytes(p.cow)], ["KSM", bytes(p.ksm)], ["hugetlb", bytes(p.hugetlb)]]);
            }
            const p = e.data.row;
            return tip(`${p.pid} ${safeText(p.command)}`, [["PSS", bytes(p.pss)], ["USS", bytes(p.uss)], ["shared with others", bytes(p.shared)]]);
          },
        },
        series: [{ id: "shares", type: "graph", layout: "none", roam: true, left: "25%", right: "25%", top: 30, bottom: 30, label: { show: true, position: "right" }, lineStyle: { color: "#c0392b", opacity: 0.6, curveness: 0.15 }, data: nodes, links: edges }],
      },
      { replaceMerge: ["series"] },
    ));
    const who = (p: { pid: number; command: string }): string => `${p.pid} ${p.command}`;
    this.holder.replaceChildren(
      table(
        "shares-table",
        ["process", "process", "shared", "file", "shmem", "copy-on-write", "KSM", "hugetlb", "mostly through"],
        s.pairs.map((p) => [who(p.a), who(p.b), p.bytes, p.file, p.shmem, p.cow, p.ksm, p.hugetlb, p.mappings[0]?.name ?? null]),
        new Set([2, 3, 4, 5, 6, 7]),
      ),
    );
  }
}

export class FlagsSection {
  readonly root: HTMLElement;
  private readonly lazy: LazyChart;
  private readonly box = el("div", { id: "flags-chart", class: "chart" });
  private readonly holder = el("div", { class: "scroll" });
  constructor() {
    this.root = el("section", { id: "flags" }, el("h2", {}, "Page flags census"), el("p", { class: "hint" }, "Every physical page by its kpageflags (page-types' default view), most pages first."), this.box, this.holder);
    this.lazy = new LazyChart(this.box);
  }
  update(r: HtmlReport): void {
    const f = r.flags;
    if (!f) {
      this.box.style.display = "none";
      this.holder.replaceChildren(el("p", { class: "hint" }, "Not available: the census needs /proc/kpageflags (run as root)."));
      return;
    }
    this.box.style.display = "";
    const top = f.rows.slice(0, 12).reverse();
    const label = (names: readonly string[]): string => (names.length === 0 ? "(no flags)" : names.join(","));
    this.lazy.run("option", () => this.lazy.chart.setOption({
      grid: { left: 320, right: 90, top: 10, bottom: 30 },
      tooltip: { ...TOOLTIP, trigger: "item", formatter: (p: { dataIndex: number }) => tip(label(top[p.dataIndex]!.names), [["pages", String(top[p.dataIndex]!.pages)], ["bytes", bytes(top[p.dataIndex]!.bytes)], ["flags", top[p.dataIndex]!.flags]]) },
      xAxis: { type: "value", axisLabel: { formatter: (v: number) => bytes(v) } },
      yAxis: { type: "category", data: top.map((x) => label(x.names)), axisLabel: { width: 300, overflow: "truncate" } },
      series: [{ id: "flags", type: "bar", data: top.map((x) => x.bytes), itemStyle: { color: "#10ac84" } }],
    }));
    this.holder.replaceChildren(
      table(
        "flags-table",
        ["flags", "symbolic", "names", "pages", "bytes"],
        f.rows.slice(0, 60).map((x) => [x.flags, x.symbolic, x.names.join(","), x.pages, x.bytes]),
        new Set([4]),
      ),
    );
  }
}
