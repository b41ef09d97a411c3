/**
 * `pagelens report -o report.html`: the HTML report, one self-contained file
 * (src/render/html-render.ts) from the report view (src/views/report.ts);
 * with --from CAPTURE it shows the machine as it was captured.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { DEFAULT_ADDRESS_MAPS } from "../../report/html-report.js";
import { renderHtmlReport } from "../../render/html-render.js";
import { scriptSafeJson } from "../../render/html-render.js";
import { formatSize } from "../../render/units.js";
import type { Scan } from "../../scan/system-scan.js";
import { reportView } from "../../views/report.js";
import { makeContext, printNotes, scanOutcome, traceTo, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { pageScript } from "../page-script.js";
import { Progress } from "../progress.js";

interface ReportCommandOptions {
  readonly output: string;
  readonly addressMaps: number;
  readonly json: boolean;
}

function count(name: string, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || n > max) throw new UsageError(`${name}: ${JSON.stringify(text)} is not a whole number between 0 and ${max}`);
    return n;
  };
}

export function registerReportCommand(program: Command, io: CliIo, setCode: (n: number) => void, version: string): void {
  program
    .command("report")
    .description("write the HTML report: treemap, process table, address maps, groups, libraries, sharing and the flags census in one file that opens offline")
    .option("-o, --output <file>", "the HTML file to write; - for standard output", "pagelens-report.html")
    .option("--address-maps <n>", `address maps for the top N processes by PSS (0: none)`, count("--address-maps", 10000), DEFAULT_ADDRESS_MAPS)
    .option("--json", "write the report's data as one JSON document instead of the page", false)
    .action(async function (this: Command) {
      const o = this.opts() as ReportCommandOptions;
      const ctx = makeContext(this.optsWithGlobals() as GlobalOptions, io);
      const toStdout = o.output === "-";
      if (!toStdout) {
        // Fail before the scan, not after it, when the file cannot be written.
        try {
          fs.accessSync(path.dirname(path.resolve(o.output)), fs.constants.W_OK);
        } catch (err) {
          throw new UsageError(`-o ${o.output}: cannot write there (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
        }
      }
      // Before the scan too: a build without the page script should not cost a scan to find out.
      const script = o.json ? "" : pageScript();
      const progress = new Progress(io, "scanning processes");
      let scan: Scan | undefined;
      const report = await reportView(ctx, { pagelensVersion: version, addressMaps: o.addressMaps }, { onProgress: progress.update, trace: traceTo(ctx), onScan: (s) => (scan = s) });
      progress.done();
      const text = o.json ? `${scriptSafeJson(report)}\n` : renderHtmlReport(report, script);
      if (toStdout) io.stdout(text);
      else {
        // Written beside the target, then renamed: never half a file under the name.
        const tmp = path.join(path.dirname(o.output), `.${path.basename(o.output)}.${process.pid}.tmp`);
        try {
          fs.writeFileSync(tmp, text, { mode: 0o600 });
          fs.renameSync(tmp, o.output);
        } catch (err) {
          fs.rmSync(tmp, { force: true });
          throw new UsageError(`-o ${o.output}: cannot write (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
        }
        io.stderr(`pagelens: wrote ${o.output} (${formatSize(Buffer.byteLength(text), "human")}; ${report.ps.processes.length} processes, ${report.addressMaps.length} address maps)\n`);
      }
      printNotes(ctx, report.notes);
      setCode(scanOutcome(ctx, scan!, true));
    });
}
