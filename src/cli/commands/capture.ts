/** `pagelens capture -o FILE`: record what every command needs, for `--from FILE` on any machine. */
import * as fs from "node:fs";
import * as path from "node:path";
import { Option, type Command } from "commander";
import { takeCapture } from "../../capture/take.js";
import { UsageError } from "../../errors.js";
import { safeText } from "../../render/safe-text.js";
import { formatSize } from "../../render/units.js";
import type { GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { parsePidList } from "../options.js";
import { Progress } from "../progress.js";

export function registerCaptureCommand(program: Command, io: CliIo, setCode: (n: number) => void, version: string): void {
  program
    .command("capture")
    .description("record what every command needs into one file, for --from FILE later or elsewhere")
    .requiredOption("-o, --output <file>", "the capture file to write (a .tar.gz)")
    .option("--pid <list>", "only these pids (comma-separated; default every process)", (t: string) => parsePidList(t))
    .addOption(
      new Option(
        "--level <level>",
        "how much to record: all (every command can be answered), pages (no smaps, no whole kpageflags: " +
          "not maps, system, report or flags over the machine; about 3/4 of the time), ps (also not the page words of pages a scan " +
          "settles from pagemap alone, nor kpagecgroup: ps, libs, shares, groups, diff and kernel only; about 0.6 of the time)",
      )
        .choices(["all", "pages", "ps"])
        .default("all"),
    )
    .action(async function (this: Command) {
      const o = this.opts() as { output: string; pid?: number[]; level: "all" | "pages" | "ps" };
      const g = this.optsWithGlobals() as GlobalOptions;
      if (g.from !== undefined) throw new UsageError("capture reads a live /proc or a --root tree, not another capture (--from)");
      // Fail before the work, not after it, when the file cannot be written.
      try {
        fs.accessSync(path.dirname(path.resolve(o.output)), fs.constants.W_OK);
      } catch (err) {
        throw new UsageError(`-o ${o.output}: cannot write there (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      const progress = new Progress(io, "capturing processes");
      const r = await takeCapture({
        root: g.root,
        sysRoot: g.sysRoot,
        passwdFile: g.passwd,
        pids: o.pid,
        // What each level records: take.ts (exact: every present page's words; full: smaps and the whole kpageflags too).
        exact: o.level !== "ps",
        full: o.level === "all",
        pagelensVersion: version,
        onProgress: progress.update,
        trace: io.env["PAGELENS_TRACE"] ? (phase, ms, detail) => io.stderr(`pagelens: trace: ${phase}: ${ms.toFixed(1)} ms${detail ? ` (${safeText(detail)})` : ""}\n`) : undefined,
      });
      progress.done();
      // Written beside the target, then renamed: an interrupted capture never leaves a half file under the name.
      const tmp = path.join(path.dirname(o.output), `.${path.basename(o.output)}.${process.pid}.tmp`);
      try {
        fs.writeFileSync(tmp, r.bytes, { mode: 0o600 });
        fs.renameSync(tmp, o.output);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        throw new UsageError(`-o ${o.output}: cannot write (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      const perGiB = r.mappedBytes > 0 ? (r.bytes.length / (r.mappedBytes / 2 ** 30)).toFixed(0) : "-";
      io.stdout(
        `wrote ${o.output}: ${r.processes} processes, ${formatSize(r.mappedBytes, "human")} mapped, ${r.wordsRecorded} words recorded, ` +
          `${formatSize(r.bytes.length, "human")} (${perGiB} bytes per GiB mapped)\n`,
      );
      for (const n of r.notRecorded) io.stderr(`pagelens: note: not recorded: ${n}\n`);
      setCode(0);
    });
}
