/**
 * ECharts, only the parts the page uses (tree-shaken by esbuild from
 * echarts/core): the treemap, bars, the custom series of the address map,
 * the graph of who shares with whom, and the canvas renderer. Canvas draws text as pixels, so a hostile name in
 * a label is never markup; tooltips are built as DOM elements (format.ts).
 */
import * as echarts from "echarts/core";
import { BarChart, CustomChart, GraphChart, TreemapChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([TreemapChart, BarChart, CustomChart, GraphChart, GridComponent, TooltipComponent, DataZoomComponent, LegendComponent, TitleComponent, CanvasRenderer]);

export { echarts };
export type Chart = echarts.ECharts;
export type Option = echarts.EChartsCoreOption;

/**
 * A chart in `container`, resized whenever the container is: the sections
 * build their charts before they are put into the document (where the
 * container has no size yet), and a window or a section may change size later.
 */
export function chartIn(container: HTMLElement): Chart {
  const c = echarts.init(container, undefined, { renderer: "canvas" });
  new ResizeObserver(() => c.resize()).observe(container);
  charts.push(c);
  return c;
}

const charts: Chart[] = [];

/** Size every chart to its container now (the observer reports a frame later, after the first setOption: a circular graph laid out at 0x0 fails). */
export function sizeCharts(): void {
  for (const c of charts) c.resize();
}

/** Shared tooltip settings: DOM content, confined to the chart. */
export const TOOLTIP = { confine: true, enterable: false, backgroundColor: "#fff", borderColor: "#999", textStyle: { color: "#222" } } as const;

/**
 * A chart below the fold draws when it first comes near the screen: drawing
 * every chart at once (ECharts lays out and paints on setOption) made opening
 * the page take seconds on a loaded machine, most of it for charts nobody
 * had scrolled to yet. Work is queued by key, the latest of each kept, in
 * order (a live page refreshing a chart nobody looks at keeps one update,
 * not one per refresh).
 */
export class LazyChart {
  readonly chart: Chart;
  private shown = false;
  private readonly queue = new Map<string, () => void>();

  constructor(container: HTMLElement) {
    this.chart = chartIn(container);
    new IntersectionObserver(
      (entries) => {
        if (this.shown || !entries.some((e) => e.isIntersecting)) return;
        this.shown = true;
        const work = [...this.queue.values()];
        this.queue.clear();
        for (const fn of work) fn();
      },
      { rootMargin: "300px" },
    ).observe(container);
  }

  /** Forget queued work of `key` (a zoom meant for a map no longer shown). */
  drop(key: string): void {
    this.queue.delete(key);
  }

  /** Run `fn` now if the chart has been near the screen, else when it first is (replacing queued work of the same key). */
  run(key: string, fn: () => void): void {
    if (this.shown) return fn();
    this.queue.delete(key);
    this.queue.set(key, fn);
  }
}
