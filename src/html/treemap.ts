/**
 * The treemap of the machine's memory: processes, then their mappings
 * (summed by name), sized by PSS, USS or RSS. PSS adds up to the memory
 * the processes use; USS to what each alone holds; RSS counts shared pages
 * once per process (it overstates the total, and says so in the note).
 */
import type { HtmlReport } from "../report/html-report.js";
import { chartIn, TOOLTIP, type Chart } from "./charts.js";
import { bytes, el, safeText, tip } from "./format.js";

export type Metric = "pss" | "uss" | "rss";
const COL: Record<Metric, 1 | 2 | 3> = { rss: 1, pss: 2, uss: 3 };

interface Node {
  name: string;
  value: number;
  pid?: number;
  children?: Node[];
}

function nodes(r: HtmlReport, metric: Metric): Node[] {
  const maps = new Map(r.mappings.map((m) => [m.pid, m.rows]));
  const out: Node[] = [];
  for (const p of r.ps.processes) {
    const value = p[metric];
    if (!(value > 0)) continue;
    const rows = maps.get(p.pid);
    const children = rows?.map((row) => ({ name: safeText(row[0]), value: row[COL[metric]] })).filter((c) => c.value > 0);
    out.push({ name: `${safeText(p.comm)} (${p.pid})`, value, pid: p.pid, children: children && children.length > 0 ? children : undefined });
  }
  return out;
}

export class Treemap {
  readonly root: HTMLElement;
  private readonly chart: Chart;
  private metric: Metric = "pss";
  private report: HtmlReport | undefined;
  private readonly buttons: HTMLButtonElement[];
  private readonly box: HTMLElement;

  constructor(onPick: (pid: number) => void) {
    this.buttons = (["pss", "uss", "rss"] as Metric[]).map((m) => {
      const b = el("button", { type: "button", "data-metric": m }, m.toUpperCase());
      b.addEventListener("click", () => this.setMetric(m));
      return b;
    });
    this.box = el("div", { id: "treemap", class: "chart tall", "data-metric": "pss" });
    this.root = el(
      "section",
      { id: "memory" },
      el("h2", {}, "Memory by process and mapping"),
      el("div", { class: "controls" }, "Size by: ", ...this.buttons),
      el("p", { class: "hint" }, "Click a process to see its mappings (and its address map below, if it has one); the bar above the map goes back. RSS counts a shared page once in every process that maps it, so its cells add up to more than the memory in use."),
      this.box,
    );
    this.chart = chartIn(this.box);
    this.chart.on("click", (e) => {
      const d = e.data as Node | undefined;
      if (d?.pid !== undefined) onPick(d.pid);
    });
  }

  get instance(): Chart {
    return this.chart;
  }

  setMetric(m: Metric): void {
    this.metric = m;
    this.box.dataset["metric"] = m;
    for (const b of this.buttons) b.classList.toggle("on", b.dataset["metric"] === m);
    if (this.report) this.update(this.report);
  }

  update(r: HtmlReport): void {
    this.report = r;
    for (const b of this.buttons) b.classList.toggle("on", b.dataset["metric"] === this.metric);
    const metric = this.metric;
    const label = metric.toUpperCase();
    this.chart.setOption(
      {
        tooltip: {
          ...TOOLTIP,
          formatter: (p: { data: Node; treePathInfo: { name: string }[] }) =>
            tip(p.treePathInfo.map((t) => t.name).filter((x) => x !== "").join(" / ") || "all processes", [[label, bytes(p.data?.value ?? 0)]]),
        },
        series: [
          {
            id: "memory",
            type: "treemap",
            name: "",
            data: nodes(r, metric),
            leafDepth: 1,
            roam: false,
            nodeClick: "zoomToNode",
            breadcrumb: { show: true, bottom: 0 },
            label: { show: true, formatter: (p: { name: string; value: number }) => `${p.name}\n${bytes(p.value)}`, overflow: "truncate", lineHeight: 15 },
            upperLabel: { show: true, height: 18, color: "#fff" },
            levels: [
              { itemStyle: { borderColor: "#555", borderWidth: 2, gapWidth: 2 } },
              { colorSaturation: [0.35, 0.6], itemStyle: { borderColorSaturation: 0.7, gapWidth: 1, borderWidth: 1 } },
            ],
          },
        ],
      },
      { replaceMerge: ["series"] },
    );
  }
}
