/**
 * ECharts, only the parts the page uses (tree-shaken by esbuild from
 * echarts/core): the treemap, bars, the custom series of the address map,
 * and the canvas renderer. Canvas draws text as pixels, so a hostile name in
 * a label is never markup; tooltips are built as DOM elements (format.ts).
 */
import * as echarts from "echarts/core";
import { BarChart, CustomChart, TreemapChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([TreemapChart, BarChart, CustomChart, GridComponent, TooltipComponent, DataZoomComponent, LegendComponent, TitleComponent, CanvasRenderer]);

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
  return c;
}

/** Shared tooltip settings: DOM content, confined to the chart. */
export const TOOLTIP = { confine: true, enterable: false, backgroundColor: "#fff", borderColor: "#999", textStyle: { color: "#222" } } as const;
