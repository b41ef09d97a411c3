/** `pagelens diff A B`: what grew, shrank, appeared and left between two captures (or a capture and now). */
import { Option, type Command } from "commander";
import { openCapture } from "../../capture/open.js";
import { PagelensError, UsageError } from "../../errors.js";
import { buildDiffReport, type DiffMapping, type DiffSide } from "../../report/diff-report.js";
import { renderDiffJson, renderDiffTable } from "../../render/diff-render.js";
import { UNITS, type Unit } from "../../render/units.js";
import { libsView } from "../../views/libs.js";
import { mapsView } from "../../views/maps.js";
import { psView } from "../../views/ps.js";
import type { ViewSource } from "../../views/source.js";
import { makeContext, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { parseUnit, parsePidList } from "../options.js";

interface DiffOptions {
  readonly pid?: number[];
  readonly mappings: boolean;
  readonly json: boolean;
  readonly units: Unit;
  readonly limit: number;
}

/** One side: a capture file, or "-" for the machine now (through --root, if given). */
async function sideOf(spec: string, g: GlobalOptions, io: CliIo, o: DiffOptions): Promise<DiffSide> {
  const src: ViewSource = spec === "-" ? makeContext({ ...g, from: undefined }, io) : (() => {
    const c = openCapture(spec);
    return { procfs: c.procfs, passwdFile: g.passwd ?? { text: c.passwdText } };
  })();
  const ps = await psView(src, { pids: o.pid });
  // --all: unnamed anonymous memory ([anon]) is where most growth is.
  const libs = await libsView(src, { all: true });
  const processes = ps.processes.map((p) => ({ pid: p.pid, startTime: p.startTime, command: p.command, user: p.user, rss: p.rss, pss: p.pss, uss: p.uss, swap: p.swap }));
  const mappings = new Map<number, DiffMapping[]>();
  if (o.pid !== undefined || o.mappings) {
    for (const p of ps.processes) {
      if (p.state !== "ok") continue;
      try {
        const m = await mapsView(src, p.pid, {});
        mappings.set(
          p.pid,
          m.mappings.map((x) => ({ start: x.start, perms: x.perms, name: x.name, rss: x.rss, pss: x.pss, uss: x.uss, swap: x.swap })),
        );
      } catch (err) {
        if (!(err instanceof PagelensError)) throw err; // gone since, or not recorded: no mappings for it
      }
    }
  }
  return {
    source: spec,
    takenAt: ps.takenAt,
    processes,
    libraries: libs.libraries.map((l) => ({ name: l.name, rss: l.rss, pss: l.pss, uss: l.uss, swap: l.swap })),
    mappings,
  };
}

export function registerDiffCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("diff")
    .description("what changed between two captures (or a capture and now, '-'): processes that appeared and left, and the change in RSS, PSS, USS and swap per process, library and mapping, largest first")
    .argument("<a>", "the earlier capture file, or - for the machine now")
    .argument("<b>", "the later capture file, or - for the machine now")
    .option("--pid <list>", "only these pids, with their mappings (comma-separated)", (t: string) => parsePidList(t))
    .option("--mappings", "also compare every process mapping by mapping (slower)", false)
    .option("--limit <n>", "rows per section in the table (0: all)", (t: string) => {
      if (!/^[0-9]+$/.test(t)) throw new UsageError(`--limit: expected a number, got ${JSON.stringify(t)}`);
      return Number(t);
    }, 20)
    .addOption(new Option("--units <unit>", `size units: ${UNITS.join(", ")}`).default("human").argParser(parseUnit))
    .option("--json", "print one JSON document (sizes in bytes, every row)", false)
    .action(async function (this: Command, a: string, b: string) {
      const o = this.opts() as DiffOptions;
      const g = this.optsWithGlobals() as GlobalOptions;
      if (g.from !== undefined) throw new UsageError("diff takes its two sides as arguments (a capture file or -), not --from");
      if (a === "-" && b === "-") throw new UsageError("diff needs at least one capture: both sides are '-' (now)");
      const sa = await sideOf(a, g, io, o);
      const sb = await sideOf(b, g, io, o);
      const report = buildDiffReport(sa, sb);
      io.stdout(o.json ? renderDiffJson(report) : renderDiffTable(report, o.units, o.limit));
      setCode(0);
    });
}
