/**
 * `pagelens groups`: memory by group of processes — user, command, memory
 * cgroup, systemd unit or container, process tree, or an ad hoc set of pids —
 * with each group's own USS (pages only its members map) and what it shares
 * outside; `--charges` adds who pays for the pages, from /proc/kpagecgroup.
 */
import type { Command } from "commander";
import { Option } from "commander";
import { GROUP_BY, GROUP_SORT_KEYS, type GroupBy, type GroupSortKey } from "../../report/groups-report.js";
import { renderGroupsJson, writeGroupsCsv, writeGroupsTable } from "../../render/groups-render.js";
import { UNITS, type Unit } from "../../render/units.js";
import type { Scan } from "../../scan/system-scan.js";
import { groupsView } from "../../views/groups.js";
import { makeContext, printNotes, scanOutcome, traceTo, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { parsePidList, parseUnit } from "../options.js";
import { Progress } from "../progress.js";
import { noteFit, rejectJsonAndCsv, tableOutput } from "./output.js";

export interface GroupsCommandOptions {
  readonly by?: GroupBy;
  readonly pids?: readonly number[];
  readonly rootPid?: readonly number[];
  readonly charges: boolean;
  readonly sort: GroupSortKey;
  readonly reverse: boolean;
  readonly exact: boolean;
  readonly units: Unit;
  readonly json: boolean;
  readonly csv?: boolean;
  readonly wide?: boolean;
}


export async function groupsCommand(ctx: Context, o: GroupsCommandOptions): Promise<number> {
  rejectJsonAndCsv(o);
  const progress = new Progress(ctx.io, "scanning processes");
  let scan: Scan | undefined;
  const report = await groupsView(
    ctx,
    { by: o.by, pids: o.pids, rootPids: o.rootPid, charges: o.charges, sort: o.sort, reverse: o.reverse, exact: o.exact },
    { onProgress: progress.update, trace: traceTo(ctx), onScan: (s) => (scan = s) },
  );
  progress.done();
  if (o.json) ctx.io.stdout(renderGroupsJson(report));
  else if (o.csv) {
    writeGroupsCsv(report, ctx.io.stdout);
    printNotes(ctx, report.notes);
  } else {
    const t = tableOutput(ctx, o.units, o.wide === true);
    writeGroupsTable(report, t, ctx.io.stdout);
    printNotes(ctx, report.notes);
    noteFit(ctx, t);
  }
  // A process left out for a bad file: the report is printed, the exit code says so (README, exit codes).
  return scanOutcome(ctx, scan!, o.json || o.csv === true);
}

const GROUPS_HELP = `
Groups (--by):
  user      the process's real user
  command   the kernel's process name (comm), as ps_mem groups
  cgroup    the memory cgroup (v1 memory hierarchy or v2), from /proc/PID/cgroup
  unit      the systemd unit (nginx.service, session-3.scope) or container
            (docker:ID, podman:ID, containerd:ID, crio:ID, pod:UID, lxc:NAME,
            machine:NAME) derived from the cgroup paths; otherwise the path
  tree      a process and all its descendants: by default one tree per child
            of PID 1 (each service, session or container init) and PID 1 on
            its own; --root-pid P,Q gives the trees of P and Q, and a row for
            everything else

Columns: RSS, PSS, USS and SWAP are sums of the members' figures. GROUP-USS is
the memory mapped only by members (every mapping of the page, per
/proc/kpagecount, is a member's): what exiting the whole group would unmap.
SHARED-OUT is memory members map that processes outside the group map too.

--charges reads /proc/kpagecgroup for every mapped page (an exact scan) and
shows, per memory cgroup, the pages charged to it, which cgroups' processes
map them, and the pages a cgroup's processes map that another cgroup pays for.
`;

/** Register `groups` on the program (run.ts calls this once). */
export function registerGroupsCommand(program: Command, io: CliIo, setCode: (n: number) => void): void {
  program
    .command("groups")
    .description("memory by user, command, cgroup, unit/container or process tree, with each group's own USS")
    .addOption(new Option("--by <key>", "how to group processes (default: command; cgroup with --charges)").choices(GROUP_BY))
    .option("--pids <list>", "one ad hoc group of these pids (comma-separated), against everything else", (t: string) => parsePidList(t, "--pids"))
    .option("--root-pid <list>", "with --by tree: the trees of these pids (comma-separated), against everything else", (t: string) => parsePidList(t, "--root-pid"))
    .option("--charges", "also show which memory cgroup is charged for the mapped pages (/proc/kpagecgroup; looks every page up)", false)
    .addOption(new Option("--sort <key>", "sort key").choices(GROUP_SORT_KEYS).default("pss"))
    .option("--reverse", "reverse the sort order", false)
    .option("--exact", "look every page up in kpagecount (slower; never settle pages from pagemap bits)", false)
    .addOption(new Option("--units <unit>", `size units: ${UNITS.join(", ")}`).default("human").argParser(parseUnit))
    .option("--json", "print one JSON document (sizes in bytes)", false)
    .option("--csv", "print CSV, one row per group (sizes in bytes)", false)
    .option("--wide", "show every column whole, even when it does not fit the terminal", false)
    .addHelpText("after", GROUPS_HELP)
    .action(async function (this: Command) {
      const o = this.opts() as GroupsCommandOptions;
      const g = this.optsWithGlobals() as GlobalOptions;
      setCode(await groupsCommand(makeContext(g, io), o));
    });
}
