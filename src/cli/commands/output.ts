/**
 * Table output shared by the commands: the terminal width a table fits,
 * and the one note saying what fitting left out.
 */
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

/** What --wide does, for every command that prints a table. */
export const WIDE_HELP = "show every column whole, even when it does not fit the terminal";
