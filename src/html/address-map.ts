/**
 * A process's address space, zoomable from the whole of it down to single
 * pages. The x axis is the mapped address space laid end to end (the holes
 * between mappings, most of a 47-bit space, are left out), in pages; the
 * labels translate back to virtual addresses. The top row shows the
 * mappings, the bottom row the page runs (address-map.ts of the report),
 * coloured by class; what no run covers is mapped but not present. When a
 * few hundred pages or fewer are in view, every page is drawn on its own.
 */
import { AM_FILE, AM_HUGE, AM_SHARED, AM_SWAPPED, type AddressMap } from "../report/address-map.js";
import type { HtmlReport } from "../report/html-report.js";
import { LazyChart, TOOLTIP, type Chart } from "./charts.js";
import { bytes, el, hex, safeText, tip } from "./format.js";

/** The colours, one per class the legend names. */
export const CLASS_COLOURS = {
  notPresent: "#e6e6e6",
  swapped: "#8e44ad",
  huge: "#e67e22",
  privateAnon: "#2e86de",
  sharedAnon: "#10ac84",
  privateFile: "#f6c344",
  sharedFile: "#c0392b",
} as const;

const LEGEND: ReadonlyArray<readonly [keyof typeof CLASS_COLOURS, string]> = [
  ["privateAnon", "present, private, anonymous"],
  ["sharedAnon", "present, shared, anonymous"],
  ["privateFile", "present, private, file / shmem"],
  ["sharedFile", "present, shared, file / shmem"],
  ["huge", "present, in a huge page"],
  ["swapped", "swapped out"],
  ["notPresent", "mapped, not present"],
];

export function colourOf(cls: number): string {
  if (cls & AM_SWAPPED) return CLASS_COLOURS.swapped;
  if (cls & AM_HUGE) return CLASS_COLOURS.huge;
  const shared = (cls & AM_SHARED) !== 0;
  if (cls & AM_FILE) return shared ? CLASS_COLOURS.sharedFile : CLASS_COLOURS.privateFile;
  return shared ? CLASS_COLOURS.sharedAnon : CLASS_COLOURS.privateAnon;
}

export function describe(cls: number): string {
  if (cls & AM_SWAPPED) return "swapped out";
  return ["present", cls & AM_SHARED ? "shared" : "private", cls & AM_FILE ? "file / shmem" : "anonymous", cls & AM_HUGE ? "huge page" : ""].filter((x) => x !== "").join(", ");
}

/** Where each mapping starts on the laid-end-to-end axis, in pages. */
interface Layout {
  readonly vmaX: number[];
  readonly vmaStartVpn: number[];
  readonly total: number;
}

function layout(m: AddressMap): Layout {
  const vmaX: number[] = [];
  const vmaStartVpn: number[] = [];
  let x = 0;
  for (const v of m.vmas) {
    vmaX.push(x);
    vmaStartVpn.push(v.start / m.pageSize);
    x += (v.end - v.start) / m.pageSize;
  }
  return { vmaX, vmaStartVpn, total: x };
}

/** The mapping index holding axis position x (binary search). */
function vmaAtX(l: Layout, x: number): number {
  let lo = 0;
  let hi = l.vmaX.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (l.vmaX[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Page runs placed on the axis: [x0, x1, cls, run index]. A run never spans a hole (pagemap runs are contiguous). */
function placeRuns(m: AddressMap, l: Layout): number[][] {
  const out: number[][] = [];
  let v = 0;
  const n = m.runs.vpn.length;
  for (let i = 0; i < n; i++) {
    let vpn = m.runs.vpn[i]!;
    let left = m.runs.pages[i]!;
    const cls = m.runs.cls[i]!;
    // A run may continue across adjacent mappings: split it at each mapping's end.
    while (left > 0) {
      while (v < m.vmas.length - 1 && m.vmas[v]!.end / m.pageSize <= vpn) v++;
      const vmaEnd = m.vmas[v]!.end / m.pageSize;
      const take = Math.max(1, Math.min(left, vmaEnd - vpn));
      const x0 = l.vmaX[v]! + (vpn - l.vmaStartVpn[v]!);
      out.push([x0, x0 + take, cls, i]);
      vpn += take;
      left -= take;
    }
  }
  return out;
}

/** A page this many pixels wide or more is drawn as its own cell (about 300 pages in view on a 1000-pixel chart). */
export const CELL_PX = 3;

interface RenderApi {
  value(dim: number): number;
  coord(v: [number, number]): [number, number];
  size(v: [number, number]): [number, number];
}
interface RenderParams {
  coordSys: { x: number; y: number; width: number; height: number };
}

export class AddressMapView {
  readonly root: HTMLElement;
  private readonly lazy: LazyChart;
  private readonly box: HTMLElement;
  private readonly select: HTMLSelectElement;
  private readonly stats: HTMLElement;
  private readonly note: HTMLElement;
  private maps: readonly AddressMap[] = [];
  private current: AddressMap | undefined;
  private lay: Layout | undefined;
  private span: [number, number] = [0, 0];
  /** Page cells drawn since the last finished render (data-page-cells: how the tests see single pages). */
  private cells = 0;

  constructor() {
    this.select = el("select", { id: "am-select" });
    this.select.addEventListener("change", () => this.show(Number(this.select.value)));
    const whole = el("button", { type: "button", id: "am-whole" }, "whole space");
    whole.addEventListener("click", () => this.zoomPages(0, this.lay?.total ?? 0));
    this.box = el("div", { id: "addrmap", class: "chart" });
    this.stats = el("div", { id: "am-stats", class: "hint" });
    this.note = el("p", { id: "am-note", class: "hint" });
    const legend = el("div", { class: "legend" });
    for (const [k, label] of LEGEND) legend.append(el("span", { class: "swatch", style: `background:${CLASS_COLOURS[k]}` }), el("span", { class: "legend-label" }, label));
    this.root = el(
      "section",
      { id: "address-map" },
      el("h2", {}, "Address space of one process"),
      this.note,
      el("div", { class: "controls" }, "Process: ", this.select, " ", whole, " ", el("span", { class: "hint" }, "wheel or drag the slider to zoom, down to single pages")),
      legend,
      this.box,
      this.stats,
    );
    this.lazy = new LazyChart(this.box);
    this.chart.on("datazoom", () => this.onZoom());
    this.chart.on("finished", () => {
      this.box.dataset["pageCells"] = String(this.cells);
      this.cells = 0;
    });
  }

  get instance(): Chart {
    return this.chart;
  }

  private get chart(): Chart {
    return this.lazy.chart;
  }

  update(r: HtmlReport): void {
    this.maps = r.addressMaps;
    this.note.textContent =
      r.addressMaps.length === 0
        ? `No address maps in this report (${r.addressMapLimit === 0 ? "none were asked for" : "they need page-level data: run as root"}).`
        : `Address maps are included for the ${r.addressMapLimit} processes with the largest PSS (${r.addressMaps.length} here; pagelens report --address-maps N changes how many). Built from the process's pagemap, folded into runs of pages of one class.`;
    const keep = this.current?.pid;
    this.select.replaceChildren(...this.maps.map((m) => el("option", { value: m.pid }, `${m.pid} ${safeText(m.command)}`)));
    const pick = this.maps.find((m) => m.pid === keep) ?? this.maps[0];
    if (pick) this.show(pick.pid, keep === pick.pid);
    else {
      this.current = undefined;
      this.lazy.run("option", () => this.chart.clear());
      this.stats.textContent = "";
    }
  }

  /** Whether `pid` has a map (to pick it from the table or the treemap). */
  has(pid: number): boolean {
    return this.maps.some((m) => m.pid === pid);
  }

  show(pid: number, keepZoom = false): void {
    const m = this.maps.find((x) => x.pid === pid);
    if (!m) return;
    const same = keepZoom && this.current?.pid === pid;
    this.current = m;
    this.select.value = String(pid);
    const l = (this.lay = layout(m));
    const runs = placeRuns(m, l);
    const vmas = m.vmas.map((v, i) => [l.vmaX[i]!, l.vmaX[i]! + (v.end - v.start) / m.pageSize, i]);
    const t = m.totals;
    const ps = m.pageSize;
    this.box.dataset["pid"] = String(pid);
    this.box.dataset["runs"] = String(m.runs.vpn.length);
    this.box.dataset["mappedBytes"] = String(t.mapped * ps);
    this.box.dataset["presentBytes"] = String(t.present * ps);
    this.box.dataset["privateBytes"] = String(t.private * ps);
    this.box.dataset["sharedBytes"] = String(t.shared * ps);
    this.box.dataset["swappedBytes"] = String(t.swapped * ps);
    this.stats.textContent =
      `${m.pid} ${safeText(m.command)}: ${m.vmas.length} mappings, ${bytes(t.mapped * ps)} mapped; present ${bytes(t.present * ps)} ` +
      `(private ${bytes(t.private * ps)}, shared ${bytes(t.shared * ps)}; anonymous ${bytes(t.anon * ps)}, file/shmem ${bytes(t.file * ps)}; in huge pages ${bytes(t.huge * ps)}), ` +
      `swapped ${bytes(t.swapped * ps)}; ${m.runs.vpn.length} runs` +
      (m.pageValues ? "" : " (no map counts without root: shared means not marked exclusive in pagemap)");
    const addrOf = (x: number): number => {
      const i = vmaAtX(l, x);
      return (l.vmaStartVpn[i]! + (x - l.vmaX[i]!)) * ps;
    };
    const rect = (api: RenderApi, params: RenderParams, row: number, x0: number, x1: number): { x: number; y: number; width: number; height: number } | undefined => {
      const a = api.coord([x0, row]);
      const b = api.coord([x1, row]);
      const h = api.size([0, 1])[1] * 0.7;
      const cs = params.coordSys;
      const left = Math.max(a[0], cs.x);
      const right = Math.min(b[0], cs.x + cs.width);
      if (right < left) return undefined;
      return { x: left, y: a[1] - h / 2, width: Math.max(right - left, 0.5), height: h };
    };
    this.lazy.run("option", () => this.chart.setOption(
      {
        animation: false,
        grid: { left: 90, right: 30, top: 10, bottom: 70 },
        tooltip: { ...TOOLTIP, trigger: "item" },
        xAxis: {
          type: "value",
          min: 0,
          max: l.total,
          axisLabel: { formatter: (x: number) => hex(Math.round(addrOf(x))), hideOverlap: true },
          splitLine: { show: false },
        },
        yAxis: { type: "category", data: ["pages", "mappings"], axisTick: { show: false } },
        dataZoom: [
          { type: "inside", xAxisIndex: 0, filterMode: "weakFilter", minValueSpan: 4 },
          { type: "slider", xAxisIndex: 0, filterMode: "weakFilter", minValueSpan: 4, bottom: 15, labelFormatter: (x: number) => hex(Math.round(addrOf(x))) },
        ],
        series: [
          {
            id: "mappings",
            type: "custom",
            encode: { x: [0, 1] },
            data: vmas,
            renderItem: (params: RenderParams, api: RenderApi) => {
              const i = api.value(2);
              const shape = rect(api, params, 1, api.value(0), api.value(1));
              if (!shape) return null;
              const perms = m.vmas[i]!.perms;
              return { type: "rect", shape, style: { fill: perms.includes("x") ? "#7f8c8d" : perms.includes("w") ? "#95a5a6" : "#bdc3c7", stroke: "#fff", lineWidth: 1 } };
            },
            tooltip: {
              formatter: (p: { value: number[] }) => {
                const v = m.vmas[p.value[2]!]!;
                return tip(safeText(v.name === "" ? "[anon]" : v.name), [
                  ["range", `${hex(v.start)}-${hex(v.end)}`],
                  ["size", bytes(v.end - v.start)],
                  ["perms", v.perms],
                ]);
              },
            },
          },
          {
            id: "background",
            type: "custom",
            encode: { x: [0, 1] },
            data: vmas,
            silent: true,
            renderItem: (params: RenderParams, api: RenderApi) => {
              const shape = rect(api, params, 0, api.value(0), api.value(1));
              return shape ? { type: "rect", shape, style: { fill: CLASS_COLOURS.notPresent } } : null;
            },
          },
          {
            id: "runs",
            type: "custom",
            encode: { x: [0, 1] },
            data: runs,
            renderItem: (params: RenderParams, api: RenderApi) => {
              const x0 = api.value(0);
              const x1 = api.value(1);
              const fill = colourOf(api.value(2));
              const w = api.size([1, 0])[0];
              if (w < CELL_PX) {
                const shape = rect(api, params, 0, x0, x1);
                return shape ? { type: "rect", shape, style: { fill } } : null;
              }
              // Pages wide enough to see: one cell per page in view, with a gap between cells.
              const cs = params.coordSys;
              const a = api.coord([x0, 0])[0];
              const from = Math.max(x0, x0 + Math.floor((cs.x - a) / w));
              const to = Math.min(x1, x0 + Math.ceil((cs.x + cs.width - a) / w));
              const children = [];
              for (let x = from; x < to; x++) {
                const shape = rect(api, params, 0, x, x + 1);
                if (shape) children.push({ type: "rect", shape: { ...shape, width: Math.max(shape.width - 1, 0.5) }, style: { fill } });
              }
              this.cells += children.length;
              return { type: "group", children };
            },
            tooltip: {
              formatter: (p: { value: number[] }) => {
                const i = p.value[3]!;
                const vpn = m.runs.vpn[i]!;
                const pages = m.runs.pages[i]!;
                const v = m.vmas[vmaAtX(l, p.value[0]!)]!;
                return tip(describe(m.runs.cls[i]!), [
                  ["range", `${hex(vpn * ps)}-${hex((vpn + pages) * ps)}`],
                  ["pages", `${pages} (${bytes(pages * ps)})`],
                  ["mapping", safeText(v.name === "" ? "[anon]" : v.name)],
                ]);
              },
            },
          },
        ],
      },
      { notMerge: true },
    ));
    if (!same) {
      this.span = [0, l.total];
      this.lazy.drop("zoom");
    }
    this.box.dataset["viewStart"] = String(this.span[0]);
    this.box.dataset["viewPages"] = String(this.span[1] - this.span[0]);
    if (same) this.zoomPages(this.span[0], this.span[1]);
  }

  /** Zoom to axis positions [start, end) in pages (0 = the first page of the first mapping). */
  zoomPages(start: number, end: number): void {
    this.lazy.run("zoom", () => {
      this.chart.dispatchAction({ type: "dataZoom", startValue: start, endValue: end });
      this.onZoom();
    });
  }

  /** Zoom onto `pages` pages around the virtual address `addr` (for the page's own links and for tests). */
  zoomAddress(addr: number, pages: number): void {
    const m = this.current;
    const l = this.lay;
    if (!m || !l) return;
    const vpn = Math.floor(addr / m.pageSize);
    const i = m.vmas.findIndex((v) => v.start <= addr && addr < v.end);
    if (i < 0) return;
    const x = l.vmaX[i]! + (vpn - l.vmaStartVpn[i]!);
    this.zoomPages(x, x + pages);
  }

  private onZoom(): void {
    const l = this.lay;
    if (!l) return;
    const opt = (this.chart.getOption() ?? {}) as { dataZoom?: Array<{ startValue?: number; endValue?: number }> };
    const z = opt.dataZoom?.[0];
    const s = z?.startValue ?? 0;
    const e = z?.endValue ?? l.total;
    this.span = [s, e];
    this.box.dataset["viewStart"] = String(s);
    this.box.dataset["viewPages"] = String(e - s);
  }
}
