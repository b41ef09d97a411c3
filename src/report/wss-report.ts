/**
 * Working-set size over time (`pagelens wss`): per interval and process, the
 * bytes used (accessed, referenced or written, by method) and resident, and a
 * summary over the intervals. Pure: samples in, data out.
 */
import type { MappingSample, WssMethod } from "../scan/working-set.js";
import { SCHEMA_VERSION } from "./scan-header.js";

/** What each method sees and what it cannot, in the user's terms (README and --help say the same). */
export const METHOD_SCOPE: Record<WssMethod, { readonly sees: string; readonly misses: string; readonly resets: string | null }> = {
  idle: {
    sees: "every page read or written in the interval, page by page (idle page tracking)",
    misses: "pages the kernel does not track (not on an LRU list: some driver and kernel-allocated pages), counted apart as untracked",
    resets: null,
  },
  accessed: {
    sees: "pages read or written in the interval, per mapping (the accessed bits: clear_refs 1, smaps Referenced)",
    misses:
      "which pages: the kernel gives per-mapping totals; and for pages shared with other processes (libraries, shared memory) a use by any of them can count, since a page's referenced state is its own, not the mapping's",
    resets:
      "clears the accessed bits of every page of the process at each interval (clear_refs 1): reclaim then sees those pages as cold, so they may be reclaimed or swapped sooner",
  },
  "soft-dirty": {
    sees: "pages written in the interval, page by page (soft-dirty: clear_refs 4, pagemap bit 55)",
    misses: "pages only read; and a mapping created or grown in the interval counts whole (the kernel marks new mappings soft-dirty)",
    resets:
      "write-protects every page of the process at each interval (clear_refs 4): the next write to each page faults once, and any other soft-dirty user (such as CRIU) loses its tracking",
  },
};

export interface WssMappingRow {
  readonly start: string;
  readonly end: string;
  readonly perms: string;
  readonly name: string;
  readonly used: number;
  readonly resident: number;
}

export interface WssProcessSample {
  readonly pid: number;
  /** ok, or exited during this interval (then no figures). */
  readonly state: "ok" | "exited";
  readonly used: number;
  readonly resident: number;
  readonly untracked: number;
  /** Mappings by bytes used, most first (with --mappings). */
  readonly mappings: readonly WssMappingRow[] | null;
}

export interface WssInterval {
  /** 1-based. */
  readonly index: number;
  readonly endedAt: string;
  /** Measured length of the interval in seconds (the sleep, plus the reading). */
  readonly seconds: number;
  readonly processes: readonly WssProcessSample[];
}

export interface WssSummaryRow {
  readonly pid: number;
  readonly command: string;
  readonly intervals: number;
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly mean: number;
  /** Resident bytes at the end of the last interval measured. */
  readonly resident: number;
  /** Mappings by mean bytes used over the intervals, most first (with --mappings). */
  readonly mappings: readonly WssMappingRow[] | null;
}

export interface WssProcessRef {
  readonly pid: number;
  readonly command: string;
  readonly user: string;
}

export interface WssReport {
  readonly schemaVersion: number;
  readonly method: WssMethod;
  readonly sees: string;
  readonly misses: string;
  /** What resetting did to the process, or null when the method resets nothing. */
  readonly resets: string | null;
  readonly intervalSeconds: number;
  readonly pageSize: number;
  readonly processes: readonly WssProcessRef[];
  readonly intervals: readonly WssInterval[];
  readonly summary: readonly WssSummaryRow[];
  readonly notes: readonly string[];
}

/** One process's interval from its per-mapping samples (pages), in bytes. */
export function sampleOf(pid: number, samples: readonly MappingSample[], pageSize: number, mappings: number | undefined): WssProcessSample {
  let used = 0;
  let resident = 0;
  let untracked = 0;
  for (const s of samples) {
    used += s.used;
    resident += s.resident;
    untracked += s.untracked;
  }
  const rows =
    mappings === undefined
      ? null
      : samples
          .filter((s) => s.used > 0)
          .map((s) => mappingRow(s, pageSize))
          .sort((a, b) => b.used - a.used || a.start.localeCompare(b.start))
          .slice(0, mappings);
  return { pid, state: "ok", used: used * pageSize, resident: resident * pageSize, untracked: untracked * pageSize, mappings: rows };
}

function mappingRow(s: MappingSample, pageSize: number): WssMappingRow {
  const [start, end] = s.vma.range.split("-") as [string, string];
  return { start, end, perms: s.vma.perms, name: s.vma.name === "" ? "[anon]" : s.vma.name, used: s.used * pageSize, resident: s.resident * pageSize };
}

export function exitedSample(pid: number): WssProcessSample {
  return { pid, state: "exited", used: 0, resident: 0, untracked: 0, mappings: null };
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Per process over the intervals it was measured in; mappings by mean use, keyed by address range and name. */
export function summarize(processes: readonly WssProcessRef[], intervals: readonly WssInterval[], mappings: number | undefined): WssSummaryRow[] {
  return processes.map((p) => {
    const samples = intervals.flatMap((iv) => iv.processes.filter((s) => s.pid === p.pid && s.state === "ok"));
    const used = samples.map((s) => s.used);
    let rows: WssMappingRow[] | null = null;
    if (mappings !== undefined) {
      const byKey = new Map<string, { row: WssMappingRow; used: number }>();
      for (const s of samples)
        for (const m of s.mappings ?? []) {
          const key = `${m.start}-${m.end} ${m.name}`;
          const acc = byKey.get(key);
          if (acc) acc.used += m.used;
          else byKey.set(key, { row: m, used: m.used });
        }
      rows = [...byKey.values()]
        .map(({ row, used: total }) => ({ ...row, used: samples.length > 0 ? total / samples.length : 0 }))
        .sort((a, b) => b.used - a.used || a.start.localeCompare(b.start))
        .slice(0, mappings);
    }
    return {
      pid: p.pid,
      command: p.command,
      intervals: samples.length,
      min: used.length > 0 ? Math.min(...used) : 0,
      median: used.length > 0 ? median(used) : 0,
      max: used.length > 0 ? Math.max(...used) : 0,
      mean: used.length > 0 ? used.reduce((a, b) => a + b, 0) / used.length : 0,
      resident: samples.at(-1)?.resident ?? 0,
      mappings: rows,
    };
  });
}

export function buildWssReport(o: {
  method: WssMethod;
  intervalSeconds: number;
  pageSize: number;
  processes: readonly WssProcessRef[];
  intervals: readonly WssInterval[];
  mappings: number | undefined;
  notes: readonly string[];
}): WssReport {
  const scope = METHOD_SCOPE[o.method];
  return {
    schemaVersion: SCHEMA_VERSION,
    method: o.method,
    sees: scope.sees,
    misses: scope.misses,
    resets: scope.resets,
    intervalSeconds: o.intervalSeconds,
    pageSize: o.pageSize,
    processes: o.processes,
    intervals: o.intervals,
    summary: summarize(o.processes, o.intervals, o.mappings),
    notes: o.notes,
  };
}
