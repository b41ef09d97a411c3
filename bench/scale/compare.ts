/**
 * One case of the scale suite: time `pagelens` against the C floor
 * (ussfloor) and `smem -t` in turn, measure pagelens's peak RSS, and hold
 * the medians to the case's targets. Also: pagelens's per-process numbers
 * against the kernel's own smaps_rollup (the accuracy line).
 *
 * Everything is built from the bench's shared helpers (lib.ts): alternated
 * runs, medians, ratio verdicts, peak RSS.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { kernelPssKiB, pssAgrees } from "../../src/accounting/kernel-pss.js";
import {
  benchTmpDir,
  CommandTimeout,
  fmtMiB,
  fmtMs,
  median,
  note,
  pagelensArgv,
  peakRssRuns,
  ratioVerdict,
  round,
  runTimed,
  startCpuMeter,
  stats,
  statsJson,
  table,
  timeInTurn,
  type Stats,
} from "../lib.js";

/** The comparison commands available on this machine (undefined: absent, with the reason in `skipped`). */
export interface Tools {
  readonly root: string;
  readonly runs: number;
  /** ussfloor, built with cc -O2. */
  readonly floor: string[] | undefined;
  /** `smem -t`. */
  readonly smem: string[] | undefined;
  /** Why a tool is missing (printed with every case that would have used it). */
  readonly missing: readonly string[];
}

export interface CaseTargets {
  /** pagelens / smem -t, medians (the issue: 1.25 on every case). */
  readonly smem?: number;
  /** pagelens / ussfloor, medians. */
  readonly floor?: number;
  /** pagelens's peak RSS, MiB. */
  readonly rssMiB?: number;
}

export interface Timing {
  readonly label: string;
  readonly stats: Stats | undefined;
  readonly timedOut: boolean;
}

export interface CaseOutcome {
  readonly name: string;
  readonly title: string;
  /** "PASS" when every target that was measured passed, "OVER" when one did not (or timed out), "n/a" when none was measured. */
  verdict: "PASS" | "OVER" | "n/a";
  readonly timings: Timing[];
  readonly ratioFloor?: number;
  readonly ratioSmem?: number;
  readonly peakRssMiB?: number;
  /** Lines for the suite's summary. */
  readonly lines: string[];
  readonly data: Record<string, unknown>;
}

export interface CompareOptions {
  readonly name: string;
  readonly title: string;
  /** pagelens arguments for the timed whole-machine run (e.g. ["--json"]). */
  readonly pagelensArgs: readonly string[];
  readonly targets: CaseTargets;
  /** Per-run time limit. */
  readonly timeoutMs: number;
  /** Further commands timed in the same turns (e.g. `pagelens ps --pid`, reading smaps_rollup); reported, no target. */
  readonly extra?: readonly { label: string; argv: string[] }[];
  /** Compare with the floor (default true; false where the floor cannot finish, e.g. it would read 32 GiB of pagemap). */
  readonly useFloor?: boolean;
  /** Peak-RSS runs (default min(runs, 5); the max is held to the target). */
  readonly rssRuns?: number;
  /** Timed runs of each command (default: the bench's BENCH_RUNS). */
  readonly runs?: number;
}

const out = (line = ""): void => void process.stdout.write(line + "\n");

/** Time pagelens, the floor and smem in turn on the machine as it is now, and judge the results. */
export function compareCase(tools: Tools, o: CompareOptions): CaseOutcome {
  const lines: string[] = [];
  const runs = o.runs ?? tools.runs;
  const data: Record<string, unknown> = { runs, timeoutMs: o.timeoutMs };
  const tmp = benchTmpDir();
  const pagelens = pagelensArgv(o.pagelensArgs, tools.root);
  const cmds: { label: string; argv: string[]; stdoutFile?: string }[] = [
    { label: `pagelens ${o.pagelensArgs.join(" ")}`, argv: pagelens, stdoutFile: path.join(tmp, `${o.name}-pagelens.json`) },
  ];
  const useFloor = o.useFloor !== false && tools.floor !== undefined;
  if (useFloor) cmds.push({ label: "ussfloor (cc -O2)", argv: tools.floor! });
  if (tools.smem) cmds.push({ label: "smem -t", argv: tools.smem });
  for (const e of o.extra ?? []) cmds.push({ label: e.label, argv: e.argv });
  const iFloor = useFloor ? 1 : -1;
  const iSmem = tools.smem ? (useFloor ? 2 : 1) : -1;

  note(`${o.name}: timing ${cmds.map((c) => c.label).join(", ")} in turn: 1 warm-up + ${runs} runs each, limit ${fmtMs(o.timeoutMs)} a run`);
  const meter = startCpuMeter();
  const t = timeInTurn({
    commands: cmds,
    runs,
    timeoutMs: o.timeoutMs,
    onRun: (i, run, ms) => note(`run ${run + 1}/${runs} ${cmds[i]!.label}: ${fmtMs(ms)}`),
  });
  const cpu = meter();
  data["othersCpuPct"] = round(cpu.othersPct);
  const timings: Timing[] = cmds.map((c, i) => ({ label: c.label, stats: t.ms[i]!.length > 0 ? stats(t.ms[i]!) : undefined, timedOut: t.timedOut[i]! }));
  const cell = (tm: Timing, f: (s: Stats) => number): string => (tm.stats ? fmtMs(f(tm.stats)) : "-");
  out(
    table([
      ["wall time", "median", "min", "max", "runs"],
      ...timings.map((tm) => [
        tm.label + (tm.timedOut ? ` (timed out: > ${fmtMs(o.timeoutMs)})` : ""),
        cell(tm, (s) => s.median),
        cell(tm, (s) => s.min),
        cell(tm, (s) => s.max),
        String(tm.stats?.n ?? 0),
      ]),
    ]),
  );
  const noise = cpu.othersPct > 10 ? " (timings disturbed)" : "";
  out(`  other processes used ${cpu.othersPct.toFixed(0)}% of the CPUs while timing, the bench ${cpu.oursPct.toFixed(0)}%${noise}`);
  if (noise) lines.push(`other processes used ${cpu.othersPct.toFixed(0)}% of the CPUs while timing: timings disturbed`);
  data["timings"] = Object.fromEntries(timings.map((tm) => [tm.label, tm.stats ? statsJson(tm.stats) : tm.timedOut ? "timeout" : null]));

  const verdicts: ("PASS" | "OVER")[] = [];
  const pl = timings[0]!;
  if (pl.timedOut) {
    verdicts.push("OVER");
    const l = `pagelens ${o.pagelensArgs.join(" ")} timed out (> ${fmtMs(o.timeoutMs)} a run) OVER`;
    out(`  ${l}`);
    lines.push(l);
  }
  // Ratios against the floor and smem (per-pair ratios only over the turns where both finished).
  const judge = (i: number, against: string, target: number | undefined): number | undefined => {
    if (i < 0) return undefined;
    const other = timings[i]!;
    if (other.timedOut && other.stats === undefined) {
      const l = `${other.label} timed out (> ${fmtMs(o.timeoutMs)} a run): no ratio`;
      out(`  ${l}`);
      lines.push(l);
      return undefined;
    }
    if (pl.stats === undefined || other.stats === undefined) return undefined;
    const n = Math.min(t.ms[0]!.length, t.ms[i]!.length);
    const pair = median(t.ms[0]!.slice(0, n).map((a, k) => a / t.ms[i]![k]!));
    const l = ratioVerdict(pl.stats, other.stats, pair, target, data, against);
    out(`  ${l}`);
    lines.push(l);
    if (target !== undefined) verdicts.push(pl.stats.median / other.stats.median <= target ? "PASS" : "OVER");
    return pl.stats.median / other.stats.median;
  };
  const ratioFloor = judge(iFloor, "floor", o.targets.floor);
  const ratioSmem = judge(iSmem, "smem", o.targets.smem);
  for (let i = 0; i < cmds.length; i++) {
    if (i === 0 || i === iFloor || i === iSmem) continue;
    const e = timings[i]!;
    if (pl.stats && e.stats) {
      const l = `pagelens ${o.pagelensArgs.join(" ")} / ${e.label} (medians): ${(pl.stats.median / e.stats.median).toFixed(1)} (no target)`;
      out(`  ${l}`);
      lines.push(l);
    }
  }

  // Peak RSS: it varies with garbage-collection timing, so the worst of several runs.
  let peakRssMiB: number | undefined;
  if (!pl.timedOut) {
    const rssRuns = o.rssRuns ?? Math.min(runs, 5);
    note(`${o.name}: measuring pagelens peak RSS: ${rssRuns} runs`);
    try {
      const rss = peakRssRuns(pagelens, rssRuns, undefined, o.timeoutMs);
      peakRssMiB = rss.max / 1024;
      const target = o.targets.rssMiB;
      const v = target === undefined ? "INFO" : peakRssMiB < target ? "PASS" : "OVER";
      if (v !== "INFO") verdicts.push(v);
      data["peakRssMiB"] = round(peakRssMiB);
      data["peakRssMedianMiB"] = round(median(rss.kib) / 1024);
      data["peakRssTargetMiB"] = target ?? null;
      data["peakRssVerdict"] = v;
      const l =
        `pagelens peak RSS: max ${fmtMiB(rss.max)} over ${rssRuns} runs (median ${fmtMiB(median(rss.kib))}; ${rss.method}; ` +
        `${target === undefined ? "no target" : `target < ${target} MiB`}) ${v}`;
      out(`  ${l}`);
      lines.push(l);
    } catch (err) {
      if (!(err instanceof CommandTimeout)) throw err;
      verdicts.push("OVER");
      lines.push(`pagelens peak RSS: a run timed out (> ${fmtMs(o.timeoutMs)}) OVER`);
      out(`  ${lines[lines.length - 1]}`);
    }
  }
  const verdict = verdicts.length === 0 ? "n/a" : verdicts.includes("OVER") ? "OVER" : "PASS";
  data["verdict"] = verdict;
  return { name: o.name, title: o.title, verdict, timings, ratioFloor, ratioSmem, peakRssMiB, lines, data };
}

// ---------------------------------------------------------------------------
// Accuracy against smaps_rollup

export interface Rollup {
  rss: number;
  pss: number;
  swap: number;
  uss: number;
}

export function readRollup(pid: number): Rollup | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  } catch {
    return undefined;
  }
  const f = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { rss: f("Rss"), pss: f("Pss"), swap: f("Swap"), uss: f("Private_Clean") + f("Private_Dirty") };
}

const sameRollup = (a: Rollup, b: Rollup): boolean => a.rss === b.rss && a.pss === b.pss && a.swap === b.swap && a.uss === b.uss;

/** A process's command line for a report line, made printable (bytes from /proc are untrusted). */
function whatIs(pid: number): string {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0+$/, "").replace(/\0/g, " ");
    return cmd.replace(/[^\x20-\x7e]/g, "?").slice(0, 80) || "?";
  } catch {
    return "exited";
  }
}

type Check = { kind: "same"; pssDiff: number } | { kind: "changed" } | { kind: "wrong"; why: string };

/**
 * One scan of `pids` as `pagelens ps --pid` does it, bracketed by reads of
 * their smaps_rollup, all in one child process (rollup-check.ts: pagelens's
 * own library mappings then count in both, as they must): per pid, whether
 * pagelens agreed with the kernel, or the rollup changed between the reads
 * (then nothing can be said).
 */
function checkOnce(root: string, pids: readonly number[], label: string): Map<number, Check> {
  const result = new Map<number, Check>();
  if (pids.length === 0) return result;
  const file = path.join(benchTmpDir(), `accuracy-${label}.json`);
  runTimed([process.execPath, path.join(root, "dist", "bench", "scale", "rollup-check.js"), pids.join(",")], file);
  const doc = JSON.parse(fs.readFileSync(file, "utf8")) as {
    pageSize: number;
    rows: { pid: number; before: Rollup | null; after: Rollup | null; row: { source: string; rss: number; pss: number; swap: number; uss: number } | null }[];
  };
  for (const { pid: p, before: b, after: a, row: r } of doc.rows) {
    if (b === null) continue; // gone before it could be read
    if (a === null || !sameRollup(a, b)) {
      result.set(p, { kind: "changed" });
      continue;
    }
    if (r === null || r.source !== "pagemap") {
      result.set(p, { kind: "wrong", why: `no page-level row (${r?.source ?? "absent"})` });
      continue;
    }
    const kb = (bytes: number): number => bytes / 1024;
    const pssDiff = Math.abs(kb(r.pss) - b.pss);
    const wrong: string[] = [];
    if (kb(r.rss) !== b.rss) wrong.push(`Rss ${kb(r.rss)} vs ${b.rss}`);
    // Pss: pagelens sums the kernel's fixed-point shares, so the kernel prints it truncated to kB
    // (accounting/kernel-pss.ts; not a tolerance of +-1 kB, which is wrong both ways).
    if (!pssAgrees(r.pss, b.pss)) wrong.push(`Pss ${kb(r.pss).toFixed(4)} vs ${b.pss} (the kernel's arithmetic gives ${kernelPssKiB(r.pss)})`);
    if (kb(r.swap) !== b.swap) wrong.push(`Swap ${kb(r.swap)} vs ${b.swap}`);
    if (kb(r.uss) !== b.uss) wrong.push(`USS ${kb(r.uss)} vs ${b.uss}`);
    result.set(p, wrong.length > 0 ? { kind: "wrong", why: `${wrong.join(", ")} kB (${whatIs(p)})` } : { kind: "same", pssDiff });
  }
  return result;
}

/**
 * pagelens's numbers for `pids` against the kernel's smaps_rollup, read just
 * before and just after pagelens's scan in pagelens's own process (see
 * checkOnce): Rss, Swap and USS (Private_Clean +
 * Private_Dirty) must be equal in kB, Pss pagelens's (the kernel's fixed-point
 * sum: accounting/kernel-pss.ts) truncated to kB. First one run over all pids; then each pid
 * that changed or disagreed is measured again on its own (a shorter window),
 * up to `retries` times. Why: a process's Pss also moves when *other*
 * processes map or unmap pages it shares (every short-lived process maps
 * libc), which its own rollup, equal before and after, cannot show; a real
 * error persists, a race does not. Pids that agreed only on a retry are
 * counted and reported.
 */
export function rollupAccuracy(
  root: string,
  pids: readonly number[],
  label: string,
  retries = 2,
): { line: string; ok: boolean; data: Record<string, unknown> } {
  const final = checkOnce(root, pids, label);
  let retried = 0;
  let agreedOnRetry = 0;
  for (const p of [...final.keys()]) {
    const first = final.get(p)!;
    if (first.kind === "same") continue;
    retried++;
    for (let i = 0; i < retries; i++) {
      const c = checkOnce(root, [p], `${label}-${p}`).get(p);
      if (c === undefined) break; // exited
      final.set(p, c);
      if (c.kind === "same") {
        agreedOnRetry++;
        break;
      }
    }
  }
  let compared = 0;
  let changed = 0;
  let maxPssDiff = 0;
  const bad: string[] = [];
  for (const [p, c] of final) {
    if (c.kind === "changed") changed++;
    else if (c.kind === "wrong") {
      compared++;
      bad.push(`${p}: ${c.why}`);
    } else {
      compared++;
      maxPssDiff = Math.max(maxPssDiff, c.pssDiff);
    }
  }
  const ok = bad.length === 0;
  const line =
    `accuracy vs smaps_rollup (${label}): ${compared} processes compared, Rss/Swap/USS equal and Pss as the kernel's arithmetic gives for ${compared - bad.length}` +
    ` (largest Pss difference ${maxPssDiff.toFixed(3)} kB; ${agreedOnRetry} of them agreed only when measured again alone)` +
    (changed > 0 ? `; ${changed} kept changing while measured, not compared` : "") +
    (bad.length > 0 ? `; MISMATCH: ${bad.slice(0, 5).join("; ")}${bad.length > 5 ? ` and ${bad.length - 5} more` : ""}` : compared > 0 ? " OK" : " (nothing compared)");
  return { line, ok, data: { compared, changed, retried, agreedOnRetry, mismatches: bad.length, maxPssDiffKiB: round(maxPssDiff, 3), ok } };
}
