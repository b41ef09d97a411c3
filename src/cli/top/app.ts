/**
 * top's loop: refresh, keep per-view history, draw, react to keys.
 *
 * Scans never overlap: the next one is scheduled only when the previous one
 * has finished (`interval` from the start of the previous one, at least
 * MIN_GAP_MS after its end, so a scan slower than the interval does not run
 * back to back and take a whole core). Keys are handled while a scan runs:
 * the scan's file reads go through the I/O pool and yield to the event loop,
 * and a key only redraws from the data already held.
 */
import { PagelensError } from "../../errors.js";
import { Scanner } from "../../scan/scanner.js";
import { collectGarbage, HOLD_YOUNG_GENERATION_AFTER } from "../../native/v8-heap.js";
import { topView, type TopSnapshot } from "../../views/top.js";
import type { Context } from "../context.js";
import { renderFrame, type Line } from "./frame.js";
import { handleKey, INITIAL_UI, type UiState } from "./keys.js";
import { advance, arrange, machineTotals, rowsOf, TOP_VIEWS, type TopRow, type TopViewName, type ViewHistory } from "./model.js";
import type { Screen } from "./screen.js";

export interface TopOptions {
  readonly intervalMs: number;
  /** Stop after this many refreshes (default: until q). */
  readonly iterations?: number;
  readonly ui?: Partial<UiState>;
}

const MIN_GAP_MS = 200;

/** Everything the loop holds between refreshes; the views' histories are kept apart so each has its own deltas. */
class TopData {
  snapshot: TopSnapshot | undefined;
  readonly history = new Map<TopViewName, ViewHistory>();
  readonly rows = new Map<TopViewName, { rows: readonly TopRow[]; added: number; gone: number }>();
  error: string | undefined;

  take(s: TopSnapshot): void {
    this.snapshot = s;
    this.error = undefined;
    for (const v of TOP_VIEWS) {
      const src = rowsOf(s, v);
      if (src === undefined) {
        // Not built this time (libraries off screen): its history waits for the next time it is.
        this.rows.delete(v);
        continue;
      }
      const a = advance(this.history.get(v), src);
      this.history.set(v, a.history);
      this.rows.set(v, { rows: a.rows, added: a.added, gone: a.gone });
    }
  }
}

function frameLines(data: TopData, ui: UiState, o: { intervalMs: number; scanning: boolean; width: number; height: number }): { lines: Line[]; scroll: number; page: number } {
  const s = data.snapshot;
  const v = data.rows.get(ui.view);
  const arranged = v ? arrange(v.rows, ui) : undefined;
  return renderFrame({
    ui,
    rows: arranged,
    unfiltered: v?.rows.length ?? 0,
    added: v?.added ?? 0,
    gone: v?.gone ?? 0,
    machine: s ? machineTotals(s.meminfo) : undefined,
    scanMs: s?.scanMs,
    mode: s?.mode,
    unreadable: s?.unreadable ?? 0,
    fallbackReason: s?.fallbackReason,
    intervalMs: o.intervalMs,
    scanning: o.scanning,
    takenAt: s ? new Date(s.ps.takenAt).toLocaleTimeString("en-GB", { hour12: false }) : undefined,
    error: data.error,
    width: o.width,
    height: o.height,
  });
}

/**
 * A full garbage collection (src/native/v8-heap.ts), run once a refresh has
 * been drawn, while top waits for the next one. Each refresh leaves the
 * garbage of a whole-machine scan and its reports behind (on 2,000 processes
 * tens of MB: maps and status texts, parsed mappings, report rows); left to
 * itself V8 lets its heap grow to hold several refreshes' worth before it
 * collects, so top's resident memory swung between 220 and 310 MiB there.
 * Collecting while idle costs a few tens of ms per refresh and keeps only
 * what the next refresh needs.
 */
const collectIdle = collectGarbage;

/**
 * One Scanner per Context: top scans again and again, and the scanner keeps
 * its buffers between scans; after five, V8's young generation is held at its
 * size (src/native/v8-heap.ts), so that top's own RSS stays flat.
 */
const scanners = new WeakMap<Context, Scanner>();

function scanOf(ctx: Context, ui: UiState): Promise<TopSnapshot> {
  let scanner = scanners.get(ctx);
  if (!scanner) scanners.set(ctx, (scanner = new Scanner(ctx.procfs, { passwdFile: ctx.passwdFile, holdYoungGenerationAfter: HOLD_YOUNG_GENERATION_AFTER })));
  return topView(ctx, { libraries: ui.view === "libraries", scanner });
}

/**
 * Batch mode, for a stdout that is not a terminal: one frame per interval,
 * every row, no keys. `iterations` stops it (else it runs until killed).
 */
export async function runBatch(ctx: Context, o: TopOptions, width: number): Promise<number> {
  const ui: UiState = { ...INITIAL_UI, ...o.ui };
  const data = new TopData();
  for (let i = 0; o.iterations === undefined || i < o.iterations; i++) {
    const t0 = performance.now();
    data.take(await scanOf(ctx, ui));
    const { lines } = frameLines(data, ui, { intervalMs: o.intervalMs, scanning: false, width, height: Infinity });
    ctx.io.stdout((i > 0 ? "\n" : "") + lines.map((l) => l.text.trimEnd()).join("\n") + "\n");
    collectIdle();
    if (o.iterations !== undefined && i + 1 >= o.iterations) break;
    await new Promise((r) => setTimeout(r, Math.max(MIN_GAP_MS, o.intervalMs - (performance.now() - t0))));
  }
  return 0;
}

/**
 * The full-screen view. Resolves when the user quits (or after
 * `iterations`); rejects if the first scan fails. The screen is closed
 * before this returns or throws: the caller prints errors on a restored
 * terminal.
 */
export async function runInteractive(ctx: Context, o: TopOptions, screen: Screen): Promise<number> {
  let ui: UiState = { ...INITIAL_UI, ...o.ui };
  const data = new TopData();
  let scanning = false;
  let timer: NodeJS.Timeout | undefined;
  let lastPage = 0;
  let refreshes = 0;
  let finish: (code: number) => void = () => undefined;
  let fail: (err: unknown) => void = () => undefined;
  const done = new Promise<number>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  let stopped = false;
  /** A refresh asked for while a scan ran: done as soon as it ends. */
  let again = false;

  const redraw = (): void => {
    if (stopped) return;
    const f = frameLines(data, ui, { intervalMs: o.intervalMs, scanning, width: screen.width, height: screen.height });
    // Keep the state's scroll where the frame clamped it, so Up after End moves at once.
    if (f.scroll !== ui.scroll && !ui.help) ui = { ...ui, scroll: f.scroll };
    lastPage = f.page;
    screen.draw(f.lines);
  };

  const stop = (code: number): void => {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    finish(code);
  };

  const refresh = async (): Promise<void> => {
    if (stopped) return;
    if (scanning) {
      again = true;
      return;
    }
    again = false;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    scanning = true;
    redraw();
    const t0 = performance.now();
    try {
      data.take(await scanOf(ctx, ui));
    } catch (err) {
      // The first scan failing is an error of the command (bad --root, a kernel without pagemap...);
      // a later one keeps the last data on screen and says why.
      if (data.snapshot === undefined || !(err instanceof PagelensError)) {
        stopped = true;
        fail(err);
        return;
      }
      data.error = err.message;
    } finally {
      scanning = false;
    }
    refreshes++;
    redraw();
    collectIdle();
    if (o.iterations !== undefined && refreshes >= o.iterations) return stop(0);
    const now = again || (!data.rows.has(ui.view) && data.error === undefined);
    if (!stopped) timer = setTimeout(() => void refresh(), now ? 0 : Math.max(MIN_GAP_MS, o.intervalMs - (performance.now() - t0)));
  };

  screen.onKey((name) => {
    if (stopped) return;
    const before = ui.view;
    const r = handleKey(ui, name, lastPage);
    ui = r.state;
    if (r.quit) return stop(0);
    redraw();
    // The libraries report is built only while it is shown: fetch it now rather than at the next tick.
    if (r.refresh || (ui.view !== before && !data.rows.has(ui.view))) void refresh();
  });
  screen.onResize(redraw);
  redraw();
  void refresh();
  return done;
}
