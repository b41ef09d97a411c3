/**
 * `pagelens diff A B`: what changed between two reports of the same machine
 * (two captures, or a capture and now). Pure: the ps, libs and maps reports
 * of each side in, the differences out, largest change first.
 *
 * Processes are matched by pid AND start time (/proc/PID/stat field 22): a
 * pid reused by a new process between A and B is a process that left and
 * one that appeared, not one that changed.
 */
import { SCHEMA_VERSION } from "./scan-header.js";

export interface Sizes {
  readonly rss: number;
  readonly pss: number;
  readonly uss: number;
  readonly swap: number;
}

export interface DiffProcess extends Sizes {
  readonly pid: number;
  /** stat field 22 (clock ticks after boot), null when unknown. */
  readonly startTime: number | null;
  readonly command: string;
  readonly user: string;
}

export interface DiffMapping extends Sizes {
  readonly start: string;
  readonly perms: string;
  readonly name: string;
}

export interface DiffLibrary extends Sizes {
  readonly name: string;
}

export interface DiffSide {
  /** The capture file, or "-" (the live machine). */
  readonly source: string;
  readonly takenAt: string;
  readonly processes: readonly DiffProcess[];
  readonly libraries: readonly DiffLibrary[];
  /** Mappings of some processes, by pid (with --pid or --mappings). */
  readonly mappings: ReadonlyMap<number, readonly DiffMapping[]>;
}

export interface Change {
  readonly before: Sizes;
  readonly after: Sizes;
  readonly delta: Sizes;
}

export interface ProcessChange extends Change {
  readonly pid: number;
  readonly startTime: number | null;
  readonly command: string;
  readonly user: string;
}

export interface MappingChange extends Change {
  readonly start: string;
  readonly perms: string;
  readonly name: string;
  /** "appeared" or "left" when only one side has it. */
  readonly status: "changed" | "appeared" | "left";
}

export interface DiffReport {
  readonly schemaVersion: number;
  readonly a: { readonly source: string; readonly takenAt: string };
  readonly b: { readonly source: string; readonly takenAt: string };
  readonly appeared: readonly DiffProcess[];
  readonly left: readonly DiffProcess[];
  /** Processes in both, largest |PSS change| first (then |RSS|, |swap|); unchanged ones left out. */
  readonly changed: readonly ProcessChange[];
  readonly libraries: readonly (Change & { readonly name: string; readonly status: "changed" | "appeared" | "left" })[];
  readonly mappings: readonly { readonly pid: number; readonly command: string; readonly mappings: readonly MappingChange[] }[];
  /** Sums over all processes of each side. */
  readonly totals: Change;
}

const ZERO: Sizes = { rss: 0, pss: 0, uss: 0, swap: 0 };
const sizes = (s: Sizes): Sizes => ({ rss: s.rss, pss: s.pss, uss: s.uss, swap: s.swap });
const minus = (b: Sizes, a: Sizes): Sizes => ({ rss: b.rss - a.rss, pss: b.pss - a.pss, uss: b.uss - a.uss, swap: b.swap - a.swap });
const sum = (rows: readonly Sizes[]): Sizes => rows.reduce<Sizes>((t, r) => ({ rss: t.rss + r.rss, pss: t.pss + r.pss, uss: t.uss + r.uss, swap: t.swap + r.swap }), ZERO);
const isZero = (d: Sizes): boolean => d.rss === 0 && d.pss === 0 && d.uss === 0 && d.swap === 0;

/** Largest change first: |PSS|, then |RSS|, |USS|, |swap|; ties by key for a stable order. */
function byChange<T extends { delta: Sizes }>(key: (t: T) => string): (x: T, y: T) => number {
  return (x, y) =>
    Math.abs(y.delta.pss) - Math.abs(x.delta.pss) ||
    Math.abs(y.delta.rss) - Math.abs(x.delta.rss) ||
    Math.abs(y.delta.uss) - Math.abs(x.delta.uss) ||
    Math.abs(y.delta.swap) - Math.abs(x.delta.swap) ||
    (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0);
}

const procKey = (p: { pid: number; startTime: number | null }): string => `${p.pid}@${p.startTime ?? "?"}`;

function pairUp<T extends Sizes, K>(a: readonly T[], b: readonly T[], key: (t: T) => K): Array<{ key: K; a?: T; b?: T }> {
  const out = new Map<K, { key: K; a?: T; b?: T }>();
  for (const x of a) out.set(key(x), { key: key(x), a: x });
  for (const y of b) {
    const e = out.get(key(y));
    if (e) out.set(key(y), { ...e, b: y });
    else out.set(key(y), { key: key(y), b: y });
  }
  return [...out.values()];
}

export function buildDiffReport(a: DiffSide, b: DiffSide): DiffReport {
  const appeared: DiffProcess[] = [];
  const left: DiffProcess[] = [];
  const changed: ProcessChange[] = [];
  for (const e of pairUp(a.processes, b.processes, procKey)) {
    if (e.a && e.b) {
      const delta = minus(e.b, e.a);
      if (!isZero(delta)) changed.push({ pid: e.b.pid, startTime: e.b.startTime, command: e.b.command, user: e.b.user, before: sizes(e.a), after: sizes(e.b), delta });
    } else if (e.b) appeared.push(e.b);
    else if (e.a) left.push(e.a);
  }
  const bySize = (x: DiffProcess, y: DiffProcess): number => y.pss - x.pss || x.pid - y.pid;
  appeared.sort(bySize);
  left.sort(bySize);
  changed.sort(byChange((c) => procKey(c)));

  const libraries = pairUp(a.libraries, b.libraries, (l) => l.name)
    .map((e) => {
      const before = e.a ? sizes(e.a) : ZERO;
      const after = e.b ? sizes(e.b) : ZERO;
      return { name: e.key, status: (e.a && e.b ? "changed" : e.b ? "appeared" : "left") as "changed" | "appeared" | "left", before, after, delta: minus(after, before) };
    })
    .filter((l) => !isZero(l.delta))
    .sort(byChange((l) => l.name));

  const mappings: { pid: number; command: string; mappings: MappingChange[] }[] = [];
  const pids = new Set([...a.mappings.keys(), ...b.mappings.keys()]);
  for (const pid of [...pids].sort((x, y) => x - y)) {
    const rows = pairUp(a.mappings.get(pid) ?? [], b.mappings.get(pid) ?? [], (m) => `${m.start} ${m.name}`)
      .map((e): MappingChange => {
        const m = (e.b ?? e.a)!;
        const before = e.a ? sizes(e.a) : ZERO;
        const after = e.b ? sizes(e.b) : ZERO;
        return { start: m.start, perms: m.perms, name: m.name, status: e.a && e.b ? "changed" : e.b ? "appeared" : "left", before, after, delta: minus(after, before) };
      })
      .filter((m) => !isZero(m.delta) || m.status !== "changed")
      .sort(byChange((m) => `${m.start} ${m.name}`));
    const who = b.processes.find((p) => p.pid === pid) ?? a.processes.find((p) => p.pid === pid);
    mappings.push({ pid, command: who?.command ?? "?", mappings: rows });
  }

  const before = sum(a.processes);
  const after = sum(b.processes);
  return {
    schemaVersion: SCHEMA_VERSION,
    a: { source: a.source, takenAt: a.takenAt },
    b: { source: b.source, takenAt: b.takenAt },
    appeared,
    left,
    changed,
    libraries,
    mappings,
    totals: { before, after, delta: minus(after, before) },
  };
}
