/**
 * top's model, pure: reports in, rows with deltas out, then filtered and
 * sorted for the screen. Nothing here reads /proc or draws: the same input
 * gives the same rows, which is what the unit tests check.
 *
 * A row is keyed so that a change over time is the change of ONE thing:
 * a process by pid AND start time (/proc/PID/stat field 22), so a pid the
 * kernel hands to a new process starts a new row instead of showing the new
 * process's memory as the old one's growth; a user or cgroup by its group
 * key; a library by its mapping name.
 */
import type { Meminfo } from "../../parse/meminfo.js";
import type { TopSnapshot } from "../../views/top.js";

export const TOP_VIEWS = ["processes", "users", "cgroups", "libraries"] as const;
export type TopViewName = (typeof TOP_VIEWS)[number];

export const TOP_SORT_KEYS = ["pss", "uss", "rss", "swap", "name"] as const;
export type TopSortKey = (typeof TOP_SORT_KEYS)[number];

export const SIZE_KEYS = ["rss", "pss", "uss", "swap"] as const;
export type SizeKey = (typeof SIZE_KEYS)[number];

export interface Sizes {
  readonly rss: number;
  readonly pss: number;
  readonly uss: number;
  readonly swap: number;
}

/** One row as a report gives it, before deltas. */
export interface SourceRow extends Sizes {
  /** Identity over time (see the module comment). */
  readonly key: string;
  /** What the row shows as its name: a command line, user, cgroup path or mapping name (raw: made safe when drawn). */
  readonly name: string;
  /** Extra text the filter also matches (a process's comm). */
  readonly alias: string;
  readonly pid: number | null;
  /** A process's user; empty for other views. */
  readonly user: string;
  /** Processes in a group, or mapping a library; null for a process row. */
  readonly count: number | null;
  /** False when the memory could not be read (another user's process without root): sizes are 0 and mean nothing. */
  readonly measured: boolean;
}

export interface TopRow extends SourceRow {
  /** Change since the previous refresh (a row new since then counts from 0). */
  readonly sincePrev: Sizes;
  /** Change since the first refresh of this view (a row that appeared later counts from 0). */
  readonly sinceStart: Sizes;
  /** Not in the previous refresh. */
  readonly isNew: boolean;
}

/** What a view remembers between refreshes: the first refresh's values and the last one's. */
export interface ViewHistory {
  readonly start: ReadonlyMap<string, Sizes>;
  readonly prev: ReadonlyMap<string, Sizes>;
  readonly refreshes: number;
}

export interface Advanced {
  readonly history: ViewHistory;
  readonly rows: readonly TopRow[];
  /** Rows of the previous refresh that are gone now (exited processes, emptied groups). */
  readonly gone: number;
  /** Rows new since the previous refresh (0 on the first). */
  readonly added: number;
}

const ZERO: Sizes = { rss: 0, pss: 0, uss: 0, swap: 0 };

function sizesOf(r: Sizes): Sizes {
  return { rss: r.rss, pss: r.pss, uss: r.uss, swap: r.swap };
}

function minus(a: Sizes, b: Sizes): Sizes {
  return { rss: a.rss - b.rss, pss: a.pss - b.pss, uss: a.uss - b.uss, swap: a.swap - b.swap };
}

/**
 * One refresh of a view: deltas of `rows` against what `history` remembers,
 * and the history for the next refresh. `history` is not changed. Rows that
 * could not be measured take no part in deltas (their zeros are not sizes).
 */
export function advance(history: ViewHistory | undefined, rows: readonly SourceRow[]): Advanced {
  const now = new Map<string, Sizes>();
  for (const r of rows) if (r.measured) now.set(r.key, sizesOf(r));
  const start = history?.start ?? now;
  const prev = history?.prev ?? now;
  let added = 0;
  const out = rows.map((r): TopRow => {
    const isNew = history !== undefined && !history.prev.has(r.key);
    if (isNew) added++;
    if (!r.measured) return { ...r, sincePrev: ZERO, sinceStart: ZERO, isNew };
    return { ...r, sincePrev: minus(r, prev.get(r.key) ?? ZERO), sinceStart: minus(r, start.get(r.key) ?? ZERO), isNew };
  });
  let gone = 0;
  if (history !== undefined) {
    const keys = new Set(rows.map((r) => r.key));
    for (const k of history.prev.keys()) if (!keys.has(k)) gone++;
  }
  return { history: { start, prev: now, refreshes: (history?.refreshes ?? 0) + 1 }, rows: out, gone, added };
}

/** The rows of one view in a snapshot; undefined when the snapshot does not have that view (libraries are built on demand). */
export function rowsOf(s: TopSnapshot, view: TopViewName): SourceRow[] | undefined {
  switch (view) {
    case "processes":
      return s.ps.processes.map((p) => ({
        key: `${p.pid}@${p.startTime ?? "?"}`,
        name: p.command,
        alias: p.comm,
        pid: p.pid,
        user: p.user,
        count: null,
        measured: p.state === "ok",
        rss: p.rss,
        pss: p.pss,
        uss: p.uss,
        swap: p.swap,
      }));
    case "users":
    case "cgroups":
      return (view === "users" ? s.users : s.cgroups).groups.map((g) => ({
        key: g.key,
        name: g.label,
        alias: g.key,
        pid: null,
        user: "",
        count: g.processes,
        measured: g.measured + g.rollup > 0,
        rss: g.rss,
        pss: g.pss,
        uss: g.uss,
        swap: g.swap,
      }));
    case "libraries":
      return s.libraries?.libraries.map((l) => ({
        key: l.name,
        name: l.name,
        alias: "",
        pid: null,
        user: "",
        count: l.count,
        measured: true,
        rss: l.rss,
        pss: l.pss,
        uss: l.uss,
        swap: l.swap,
      }));
  }
}

export interface Arrange {
  readonly sort: TopSortKey;
  readonly reverse: boolean;
  /** Case-insensitive text the name (or a process's comm) must contain; "" for all. */
  readonly filter: string;
}

/** Does a row pass the filter? Plain text, not a pattern: what is typed is what is looked for. */
export function matchesFilter(r: SourceRow, filter: string): boolean {
  if (filter === "") return true;
  const f = filter.toLowerCase();
  return r.name.toLowerCase().includes(f) || r.alias.toLowerCase().includes(f) || (r.pid !== null && String(r.pid) === filter);
}

/**
 * Filtered and sorted: sizes largest first, names A to Z; `reverse` flips.
 * Unmeasured rows stay at the bottom either way (their zeros would otherwise
 * head every reversed list). Ties by key, so rows do not jump between refreshes.
 */
export function arrange(rows: readonly TopRow[], a: Arrange): TopRow[] {
  const dir = a.reverse ? -1 : 1;
  const cmp = (x: TopRow, y: TopRow): number => {
    if (x.measured !== y.measured) return x.measured ? -1 : 1;
    const d = a.sort === "name" ? x.name.localeCompare(y.name) : y[a.sort] - x[a.sort];
    return (d !== 0 ? d : x.key < y.key ? -1 : x.key > y.key ? 1 : 0) * dir;
  };
  return rows.filter((r) => matchesFilter(r, a.filter)).sort(cmp);
}

/** The size whose deltas are shown: the sort key's, or PSS when sorting by name. */
export function deltaKey(sort: TopSortKey): SizeKey {
  return sort === "name" ? "pss" : sort;
}

/** A scroll offset that keeps the page full where it can: 0 .. total - page. */
export function clampScroll(scroll: number, total: number, page: number): number {
  return Math.max(0, Math.min(scroll, total - Math.max(1, page)));
}

/** What the header says about the machine, from /proc/meminfo (bytes); null fields are missing lines. */
export interface MachineTotals {
  readonly total: number | null;
  /** As free(1) counts it: MemTotal - MemFree - Buffers - Cached - SReclaimable. */
  readonly used: number | null;
  /** Cached: the page cache, including shmem/tmpfs (which it cannot drop). */
  readonly pageCache: number | null;
  readonly shmem: number | null;
  readonly available: number | null;
  readonly swapTotal: number | null;
  readonly swapUsed: number | null;
}

export function machineTotals(meminfo: Meminfo | undefined): MachineTotals {
  // parseMeminfo has already turned kB into bytes.
  const val = (k: string): number | null => meminfo?.[k] ?? null;
  const total = val("MemTotal");
  const free = val("MemFree");
  const cached = val("Cached");
  const used = total !== null && free !== null && cached !== null ? total - free - (val("Buffers") ?? 0) - cached - (val("SReclaimable") ?? 0) : null;
  const swapTotal = val("SwapTotal");
  const swapFree = val("SwapFree");
  return {
    total,
    used,
    pageCache: cached,
    shmem: val("Shmem"),
    available: val("MemAvailable"),
    swapTotal,
    swapUsed: swapTotal !== null && swapFree !== null ? swapTotal - swapFree : null,
  };
}
