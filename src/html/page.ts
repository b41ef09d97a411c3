/**
 * The HTML report's page (browser code, bundled with ECharts into one
 * script by scripts/bundle.mjs and inlined by src/render/html-render.ts).
 *
 * Two modes, told by the <body> element:
 *  - a file (`pagelens report`): the report is the JSON in
 *    <script type="application/json" id="pagelens-data">, read once;
 *  - live (`pagelens serve`, at /): body[data-live] names the JSON endpoint,
 *    fetched now and every data-refresh seconds; the serve process shares
 *    one scan among all its clients.
 */
import type { HtmlReport } from "../report/html-report.js";
import { AddressMapView } from "./address-map.js";
import { sizeCharts } from "./charts.js";
import { bytes, el, safeText } from "./format.js";
import { PsTable } from "./ps-table.js";
import { FlagsSection, GroupsSection, LibsSection, SharesSection, SystemSection } from "./sections.js";
import { Treemap } from "./treemap.js";

class Page {
  readonly header = el("header");
  readonly status = el("div", { id: "status", class: "hint" });
  readonly notes = el("ul", { class: "notes" });
  readonly addressMap = new AddressMapView();
  // A click in the treemap zooms it: choose the process's address map, but stay at the treemap.
  readonly treemap = new Treemap((pid) => this.pick(pid, false));
  readonly table = new PsTable((pid) => this.pick(pid));
  readonly system = new SystemSection();
  readonly groups = new GroupsSection();
  readonly libs = new LibsSection();
  readonly shares = new SharesSection();
  readonly flags = new FlagsSection();
  report: HtmlReport | undefined;
  /** Reports drawn so far (data-updates: the live tests wait on it). */
  updates = 0;

  constructor() {
    const nav = el("nav");
    const sections = [this.treemap.root, this.system.root, this.table.root, this.addressMap.root, this.groups.root, this.libs.root, this.shares.root, this.flags.root];
    for (const s of sections) nav.append(el("a", { href: `#${s.id}` }, s.querySelector("h2")?.textContent ?? s.id), " ");
    document.body.append(this.header, this.status, nav, ...sections, el("section", { id: "notes" }, el("h2", {}, "Notes"), this.notes));
    sizeCharts();
  }

  pick(pid: number, scroll = true): void {
    if (!this.addressMap.has(pid)) {
      if (!scroll) return;
      this.status.textContent = `Process ${pid} has no address map in this report (only the top ${this.report?.addressMapLimit ?? 0} by PSS do).`;
      return;
    }
    this.addressMap.show(pid);
    if (scroll) this.addressMap.root.scrollIntoView({ block: "start" });
  }

  draw(r: HtmlReport): void {
    this.report = r;
    const t = r.ps.totals;
    this.header.replaceChildren(
      el("h1", {}, "pagelens: where this machine's memory goes"),
      el(
        "p",
        { class: "hint" },
        `Read ${r.takenAt} from ${safeText(r.source)} (${r.mode === "pagemap" ? "page by page" : "smaps_rollup totals, without root"}); kernel ${safeText(r.kernel.release ?? "?")}; pagelens ${r.pagelensVersion}. ` +
          `${r.ps.processes.length} processes: PSS ${bytes(t.pss)}, USS ${bytes(t.uss)}, swap ${bytes(t.swap)}; MemTotal ${bytes(r.system.memTotal)}.`,
      ),
    );
    // How long each section took to draw (data-draw-ms: where a slow page spends its time).
    const ms: Record<string, number> = {};
    const timed = (name: string, fn: () => void): void => {
      const t = performance.now();
      fn();
      ms[name] = Math.round(performance.now() - t);
    };
    timed("treemap", () => this.treemap.update(r));
    timed("system", () => this.system.update(r));
    timed("table", () => this.table.update(r));
    timed("addressMap", () => this.addressMap.update(r));
    timed("groups", () => this.groups.update(r));
    timed("libs", () => this.libs.update(r));
    timed("shares", () => this.shares.update(r));
    timed("flags", () => this.flags.update(r));
    document.body.dataset["drawMs"] = JSON.stringify(ms);
    this.notes.replaceChildren(...[...new Set([...r.notes])].map((n) => el("li", {}, safeText(n))));
    this.updates++;
    document.body.dataset["updates"] = String(this.updates);
    document.body.dataset["ready"] = "1";
  }
}

function start(): void {
  const page = new Page();
  // For tests and the curious: the charts and the data, from the console.
  (window as unknown as { pagelens: unknown }).pagelens = { page, charts: { treemap: page.treemap.instance, addressMap: page.addressMap.instance } };
  const live = document.body.dataset["live"];
  if (live === undefined) {
    const data = document.getElementById("pagelens-data");
    page.draw(JSON.parse(data?.textContent ?? "null") as HtmlReport);
    return;
  }
  const every = Math.max(1, Number(document.body.dataset["refresh"] ?? "5")) * 1000;
  let fetches = 0;
  const refresh = async (): Promise<void> => {
    try {
      const res = await fetch(live, { cache: "no-store", credentials: "same-origin" });
      if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`);
      const r = (await res.json()) as HtmlReport;
      // The server serves one scan until its --interval passes: redraw only for a new one (a redraw resets the treemap's zoom).
      if (r.takenAt !== page.report?.takenAt) page.draw(r);
      document.body.dataset["fetches"] = String(++fetches);
      page.status.textContent = `Live: refreshed ${new Date().toLocaleTimeString()}, every ${every / 1000} s (the server scans at most once per its --interval).`;
    } catch (err) {
      page.status.textContent = `Live: could not refresh (${err instanceof Error ? err.message : String(err)}); trying again in ${every / 1000} s.`;
    }
    setTimeout(() => void refresh(), every);
  };
  void refresh();
}

start();
