/**
 * Table output shared by the commands: the terminal width a table fits,
 * the one note saying what fitting left out, and the table options of the
 * commands that run.ts defines itself (ps, maps, pages).
 */
import { Option, type Command } from "commander";
import { UsageError } from "../../errors.js";
import { fitNote, newFitReport, type FitReport, type TableOptions } from "../../render/table.js";
import type { Unit } from "../../render/units.js";
import { printNotes, type Context } from "../context.js";

/**
 * The width tables fit: the terminal's (COLUMNS overrides it, as for ls),
 * only when stdout is a terminal and without --wide. Piped output is never
 * fitted, so scripts see the same columns on any terminal.
 */
export function terminalWidth(ctx: Context, wide: boolean): number | undefined {
  if (wide || ctx.io.stdoutColumns === undefined) return undefined;
  const env = ctx.io.env["COLUMNS"];
  const n = env !== undefined && /^[1-9][0-9]{0,4}$/.test(env.trim()) ? Number(env.trim()) : ctx.io.stdoutColumns;
  return Math.max(n, 20);
}

/** Table options for a command: its unit, the width to fit and a fit report for the note. */
export interface TableOutput extends TableOptions {
  readonly fit: FitReport;
}

export function tableOutput(ctx: Context, unit: Unit, wide: boolean): TableOutput {
  return { unit, width: terminalWidth(ctx, wide), fit: newFitReport() };
}

/** After the tables: one stderr note if fitting left columns out or cut names. */
export function noteFit(ctx: Context, t: TableOutput): void {
  if (t.width === undefined) return;
  const note = fitNote(t.fit, t.width);
  if (note !== undefined) printNotes(ctx, [note]);
}

export function rejectJsonAndCsv(o: { readonly json?: boolean; readonly csv?: boolean }): void {
  if (o.json && o.csv) throw new UsageError("--json and --csv cannot be used together");
}

const WIDE_HELP = "show every column whole, even when it does not fit the terminal";

/**
 * ps, maps and pages are defined in run.ts; their table options (--csv,
 * --wide, maps --sort) are added here so the table code stays in one place.
 * Called once while the program is built, after those three exist.
 */
export function addTableOptions(program: Command, mapsSortKeys: readonly string[]): void {
  const find = (name: string): Command | undefined => program.commands.find((c) => c.name() === name);
  const has = (c: Command, flag: string): boolean => c.options.some((o) => o.long === flag);
  const maps = find("maps");
  if (maps) {
    if (!has(maps, "--csv")) maps.option("--csv", "print CSV, one row per mapping (sizes in bytes)", false);
    if (!has(maps, "--sort"))
      maps.addOption(new Option("--sort <key>", "sort key (default: address order)").choices(mapsSortKeys)).option("--reverse", "reverse the sort order", false);
    if (!has(maps, "--wide")) maps.option("--wide", WIDE_HELP, false);
  }
  const pages = find("pages");
  if (pages) {
    if (!has(pages, "--csv")) pages.option("--csv", "print CSV, one row per run of pages (or per page with --each)", false);
    if (!has(pages, "--wide")) pages.option("--wide", WIDE_HELP, false);
  }
}
