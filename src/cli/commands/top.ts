/**
 * `pagelens top`: a live full-screen view of memory by process, user, cgroup
 * and library, refreshed every few seconds, with deltas since the last
 * refresh and since start. The loop is in src/cli/top/ (model and keys are
 * pure; screen.ts is the only module that knows the terminal library).
 *
 * Whatever happens, the terminal is given back first: on q and Ctrl-C, on an
 * error of the first scan, on SIGTERM/SIGHUP, and on an uncaught exception,
 * the screen is closed before anything is printed.
 */
import type { Command } from "commander";
import { Option } from "commander";
import { UsageError } from "../../errors.js";
import { makeContext, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { runBatch, runInteractive, type TopOptions } from "../top/app.js";
import { TOP_SORT_KEYS, TOP_VIEWS, type TopSortKey, type TopViewName } from "../top/model.js";

interface TopCommandOptions {
  readonly interval: number;
  readonly iterations?: number;
  readonly sort: TopSortKey;
  readonly reverse: boolean;
  readonly view: TopViewName;
  readonly filter?: string;
  readonly batch: boolean;
}

function parseInterval(text: string): number {
  const n = Number(text);
  // Below 0.2 s the scans of a busy machine would run back to back.
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text.trim()) || !(n >= 0.2) || n > 86_400) throw new UsageError(`--interval: expected seconds between 0.2 and 86400, got ${JSON.stringify(text)}`);
  return n;
}

function parseIterations(text: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text.trim())) throw new UsageError(`--iterations: expected a positive whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

const TOP_HELP = `
Keys: p u r s n sort by PSS, USS, RSS, swap, name; R reverses; Tab (or v, or 1-4)
switches between processes, users, cgroups and libraries; / filters by name (Esc
clears); arrows, PgUp/PgDn, Home/End scroll; Space refreshes now; ? help; q or
Ctrl-C quits.

Deltas: "Δ/last" is the change since the previous refresh, "Δ/start" since top
started. A process is a pid with its start time (/proc/PID/stat field 22), so a
reused pid is a new row.

Without root the numbers are the kernel's smaps_rollup totals; the header says so
and what is missing. When stdout or stdin is not a terminal (or with --batch), top
prints one plain frame per interval with every row instead (stop it with
--iterations N).
`;

async function topCommand(io: CliIo, g: GlobalOptions, o: TopCommandOptions): Promise<number> {
  const ctx = makeContext(g, io);
  const opts: TopOptions = {
    intervalMs: o.interval * 1000,
    iterations: o.iterations,
    ui: { sort: o.sort, reverse: o.reverse, view: o.view, filter: o.filter ?? "" },
  };
  if (o.batch || !process.stdout.isTTY || !process.stdin.isTTY) {
    const width = Number(io.env["COLUMNS"]) > 0 ? Number(io.env["COLUMNS"]) : 120;
    return runBatch(ctx, opts, width);
  }
  // Loaded here only: the other commands never load the terminal library.
  const { openScreen } = await import("../top/screen.js");
  const screen = openScreen();
  const crash = (err: unknown): void => {
    screen.close();
    process.stderr.write(`pagelens: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (io.env["PAGELENS_DEBUG"]) process.stderr.write(`${err instanceof Error ? err.stack : ""}\n`);
    process.exit(1);
  };
  const signal = (sig: NodeJS.Signals): void => {
    screen.close();
    process.exit(sig === "SIGHUP" ? 129 : 143);
  };
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
  process.on("SIGTERM", signal);
  process.on("SIGHUP", signal);
  try {
    return await runInteractive(ctx, opts, screen);
  } finally {
    screen.close();
    process.off("uncaughtException", crash);
    process.off("unhandledRejection", crash);
    process.off("SIGTERM", signal);
    process.off("SIGHUP", signal);
  }
}

export function registerTopCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("top")
    .description("a live full-screen view of memory by process, user, cgroup and library, with deltas")
    .option("--interval <seconds>", "seconds between refreshes (a scan never overlaps the previous one)", parseInterval, 3)
    .option("--iterations <n>", "stop after N refreshes", parseIterations)
    .addOption(new Option("--sort <key>", "initial sort key").choices(TOP_SORT_KEYS).default("pss"))
    .option("--reverse", "start with the sort order reversed", false)
    .addOption(new Option("--view <name>", "initial view").choices(TOP_VIEWS).default("processes"))
    .option("--filter <text>", "initial name filter (plain text, case-insensitive)")
    .option("--batch", "print one plain frame per interval instead of the full-screen view", false)
    .addHelpText("after", TOP_HELP)
    .action(async function (this: Command) {
      setCode(await topCommand(io, this.optsWithGlobals() as GlobalOptions, this.opts() as TopCommandOptions));
    });
}
