/**
 * `pagelens file PATH...`: which pages of files (or of every file under a
 * directory) are in the page cache, their flags, and which processes map
 * them; page-types -f, fincore and vmtouch's report in one.
 */
import { Option, type Command } from "commander";
import { UsageError } from "../../errors.js";
import type { FileReport } from "../../report/file-report.js";
import { writeFileCsv, writeFileJson, writeFileTable } from "../../render/file-render.js";
import { UNITS, type Unit } from "../../render/units.js";
import { fileView } from "../../views/file.js";
import { makeContext, printNotes, type Context, type GlobalOptions } from "../context.js";
import { EXIT } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { parseUnit } from "../options.js";
import { Progress } from "../progress.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

export interface FileCommandOptions {
  readonly list: boolean;
  readonly each: boolean;
  readonly raw: boolean;
  readonly top?: number;
  readonly processes: boolean;
  readonly totalsOnly: boolean;
  readonly units: Unit;
  readonly json: boolean;
  readonly csv?: boolean;
  readonly wide?: boolean;
}

export function fileCommand(ctx: Context, paths: readonly string[], o: FileCommandOptions): number {
  rejectJsonAndCsv(o);
  if (o.csv && (o.list || o.each)) throw new UsageError("--csv prints one row per file: it cannot be combined with --list or --each (their listings are tab-separated already)");
  if (o.list && o.each) throw new UsageError("--list and --each cannot be used together");
  if (o.totalsOnly && (o.list || o.each || o.raw)) throw new UsageError("--totals-only maps nothing, so it has no pages to --list, --each or show --raw");
  const progress = new Progress(ctx.io, "files");
  let report: FileReport;
  // Without mmap/mincore/cachestat, fileView throws NativeUnavailableError: exit 3 (cli/exit-codes.ts), as for an unreadable input.
  try {
    report = fileView(
      ctx,
      paths,
      { list: o.list ? "ranges" : o.each ? "each" : undefined, raw: o.raw, top: o.top, processes: o.processes, totalsOnly: o.totalsOnly },
      { onProgress: progress.update },
    );
  } finally {
    progress.done();
  }
  if (o.json) writeFileJson(report, ctx.io.stdout);
  else if (o.csv) {
    writeFileCsv(report, ctx.io.stdout);
    printNotes(ctx, report.notes);
  } else {
    const t = tableOutput(ctx, o.units, o.wide === true);
    writeFileTable(report, { ...t, wide: o.wide }, ctx.io.stdout);
    printNotes(ctx, report.notes);
    noteFit(ctx, t);
  }
  return EXIT.ok;
}

function parseTop(text: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text.trim())) throw new UsageError(`--top: expected a positive whole number, got ${JSON.stringify(text)}`);
  return Number(text.trim());
}

const FILE_HELP = `
Figures (sizes in bytes in --json):
  CACHED      pages in the page cache (mincore(2) on a read-only mapping; no page is read in)
  DIRTY, WRITEBACK, EVICTED
              cachestat(2) (Linux 6.5); EVICTED counts pages evicted whose shadow entries remain
  ACTIVE, REFERENCED, MAPPED
              kpageflags and kpagecount of each cached page (root only); MAPPED = mapped by some process
  PROCS       processes with the file mapped; for one file they are listed with their resident pages

As root, the cached pages (and only those) are briefly mapped into pagelens's own page table to
read their PFNs from /proc/self/pagemap, as page-types -f does; that mapping is left out of map
counts and of the mmap flag. Without root, cached pages and cachestat's counts are still shown
for files you own or can write (the kernel hides page-cache state of other files).

Directories are walked recursively without following symbolic links and without leaving the
filesystem; hard links are counted once.
`;

/** Register `file` on the program (run.ts calls this once). */
export function registerFileCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("file")
    .description("which pages of files are in the page cache, their flags, and who maps them (like page-types -f, fincore, vmtouch)")
    .argument("<path...>", "files, or directories to walk")
    .option("--list", "list cached pages as runs of alike pages (hex, like page-types -f -l)", false)
    .option("--each", "list every cached page (like page-types -f -L)", false)
    .option("--raw", "raw flags: kernel-hacker bits, compound head/tail, overloaded bits expanded", false)
    .option("--top <n>", "only the N files with the most cached bytes, largest first (totals still cover all)", parseTop)
    .option("--no-processes", "do not look for processes that map the files")
    .option("--totals-only", "cachestat(2) totals only: map nothing, no flags", false)
    .addOption(new Option("--units <unit>", `size units: ${UNITS.join(", ")}`).default("human").argParser(parseUnit))
    .option("--json", "print one JSON document (sizes in bytes)", false)
    .option("--csv", "print CSV, one row per file (sizes in bytes)", false)
    .option("--wide", "show every column whole, even when it does not fit the terminal", false)
    .addHelpText("after", FILE_HELP)
    .action(function (this: Command, paths: string[]) {
      const o = this.opts() as FileCommandOptions;
      setCode(fileCommand(makeContext(this.optsWithGlobals() as GlobalOptions, io), paths, o));
    });
}
