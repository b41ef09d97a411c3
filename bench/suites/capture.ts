/**
 * The capture suite: `pagelens capture -o FILE` against `pagelens --json`
 * on the reference workload (eight processes with 512 MiB private memory
 * each and 1 GiB shared by all). Targets (issue 10): median wall-time ratio
 * capture/ps at most 1.5, the file under 16 MiB; reports bytes per GiB of
 * mapped address space (from capture's own summary line).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  benchTmpDir,
  fmtMiB,
  fmtMs,
  median,
  memAvailableKiB,
  note,
  pagelensArgv,
  REFERENCE_WORKLOAD,
  resolveWorkload,
  round,
  startWorkload,
  stats,
  statsJson,
  table,
  timeAlternating,
  type Suite,
  type SuiteContext,
  type SuiteResult,
  type Workload,
} from "../lib.js";

const SPEC = REFERENCE_WORKLOAD;
const RATIO_TARGET = 1.5;
const SIZE_TARGET = 16 * 1024 * 1024;

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const skipped: string[] = [];
  const summary: string[] = [];
  const data: Record<string, unknown> = { runs: ctx.runs };
  const out = (line = ""): void => void process.stdout.write(line + "\n");
  if (process.getuid?.() !== 0) {
    skipped.push("not root: a capture without root records only smaps_rollup totals; not the case the targets are about");
    return { summary: ["not measured (needs root)"], skipped, data };
  }
  let workload: Workload | undefined;
  const cmd = resolveWorkload(SPEC, Math.max(900, 120 + ctx.runs * 60), ctx.root);
  const needKiB = (SPEC.nproc * SPEC.privateMiB + SPEC.sharedMiB) * 1024;
  try {
    if (cmd === undefined || memAvailableKiB() < needKiB * 1.15) skipped.push("workload: not available or not enough memory; timed on the machine as it is");
    else {
      note(`starting workload: ${cmd.source} ${SPEC.nproc} ${SPEC.privateMiB} ${SPEC.sharedMiB}`);
      workload = await startWorkload({ argv: cmd.argv, expectedChildRssKiB: (SPEC.privateMiB + SPEC.sharedMiB) * 1024, log: note });
    }
    const file = path.join(benchTmpDir(), "capture.tar.gz");
    const summaryFile = path.join(benchTmpDir(), "capture-summary.txt");
    note(`timing pagelens capture and pagelens --json alternately: 1 warm-up + ${ctx.runs} runs each`);
    const t = timeAlternating({ a: pagelensArgv(["capture", "-o", file], ctx.root), b: pagelensArgv(["--json"], ctx.root), runs: ctx.runs, aStdout: summaryFile });
    const cap = stats(t.aMs);
    const ps = stats(t.bMs);
    const ratio = median(t.aMs.map((a, i) => a / t.bMs[i]!));
    const size = fs.statSync(file).size;
    const perGiB = /\((\d+) bytes per GiB mapped\)/.exec(fs.readFileSync(summaryFile, "utf8"))?.[1];
    Object.assign(data, { captureMs: statsJson(cap), psJsonMs: statsJson(ps), pairRatio: round(ratio, 2), bytes: size, bytesPerGiBMapped: perGiB ? Number(perGiB) : null });
    out(
      table([
        ["wall time", "median", "min", "max", "runs"],
        ["pagelens capture", fmtMs(cap.median), fmtMs(cap.min), fmtMs(cap.max), String(cap.n)],
        ["pagelens --json", fmtMs(ps.median), fmtMs(ps.min), fmtMs(ps.max), String(ps.n)],
      ]),
    );
    summary.push(`capture/ps median pair ratio ${round(ratio, 2)} (target <= ${RATIO_TARGET}: ${ratio <= RATIO_TARGET ? "MET" : "NOT MET"})`);
    summary.push(`capture ${fmtMiB(size / 1024)} (target < 16 MiB: ${size < SIZE_TARGET ? "MET" : "NOT MET"}), ${perGiB ?? "?"} bytes per GiB mapped`);
    for (const s of summary) out(`  ${s}`);
  } finally {
    await workload?.stop();
  }
  return { summary, skipped, data };
}

export const captureSuite: Suite = { name: "capture", title: "pagelens capture vs pagelens --json on the reference workload", run };
