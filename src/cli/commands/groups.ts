/**
 * `pagelens groups`: memory by group of processes — user, command, memory
 * cgroup, systemd unit or container, process tree, or an ad hoc set of pids —
 * with each group's own USS (pages only its members map) and what it shares
 * outside; `--charges` adds who pays for the pages, from /proc/kpagecgroup.
 */
import type { Command } from "commander";
import { Option } from "commander";
import { NoSuchProcessError, ProcReadError, ProcessGoneError, UsageError } from "../../errors.js";
import { MemoryCgroups } from "../../kernel/cgroups.js";
import { parseCgroupFile } from "../../parse/kernel-config.js";
import { buildGroupsReport, GROUP_BY, GROUP_SORT_KEYS, type GroupBy, type GroupSortKey } from "../../report/groups-report.js";
import { renderGroupsJson, writeGroupsCsv, writeGroupsTable } from "../../render/groups-render.js";
import { UNITS, type Unit } from "../../render/units.js";
import { scanSystem, type Scan } from "../../scan/system-scan.js";
import { makeContext, printNotes, type Context, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";
import { parsePid, parseUnit } from "../options.js";
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

/** "12,13,14" for an option named `option`. */
export function parsePidsOption(text: string, option: string): number[] {
  const parts = text.split(",").filter((p) => p.trim() !== "");
  if (parts.length === 0) throw new UsageError(`${option}: expected a comma-separated list of process ids, got ${JSON.stringify(text)}`);
  return [...new Set(parts.map((p) => parsePid(p, option)))];
}

/**
 * The cgroup paths a unit is derived from, per pid: the memory hierarchy's,
 * systemd's own (name=systemd, v1) and the v2 one. On a v1 machine the
 * memory controller's path can stop short of the unit (systemd only creates
 * memory cgroups for units with memory accounting), while systemd's
 * hierarchy always names it.
 */
function readUnitPaths(ctx: Context, scan: Scan): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const p of scan.processes) {
    if (p.state === "no-mm") continue;
    let text: string;
    try {
      text = ctx.procfs.readText(`${p.info.pid}/cgroup`, p.info.pid);
    } catch (err) {
      // Exited since the scan: its memory cgroup from the scan is all there is.
      if (err instanceof ProcessGoneError || err instanceof ProcReadError) continue;
      throw err;
    }
    const lines = parseCgroupFile(text);
    const paths = [
      p.info.cgroup,
      lines.find((l) => l.controllers.includes("name=systemd"))?.path,
      lines.find((l) => l.id === 0)?.path,
    ].filter((x): x is string => x !== undefined);
    out.set(p.info.pid, paths);
  }
  return out;
}

export async function groupsCommand(ctx: Context, o: GroupsCommandOptions): Promise<number> {
  rejectJsonAndCsv(o);
  if (o.pids !== undefined && (o.by !== undefined || o.rootPid !== undefined))
    throw new UsageError("--pids makes one ad hoc group: it cannot be combined with --by or --root-pid");
  if (o.rootPid !== undefined && o.by !== undefined && o.by !== "tree") throw new UsageError(`--root-pid chooses process trees: it needs --by tree (got --by ${o.by})`);
  const by: GroupBy = o.by ?? (o.rootPid !== undefined ? "tree" : o.charges ? "cgroup" : "command");

  const progress = new Progress(ctx.io, "scanning processes");
  // Charges need every page looked up: pages settled from pagemap bits alone have no kpagecgroup value.
  const scan = await scanSystem(ctx.procfs, { exact: o.exact || o.charges, cgroups: o.charges, passwdFile: ctx.passwdFile, onProgress: progress.update });
  progress.done();

  const wanted = o.pids ?? o.rootPid;
  if (wanted !== undefined) {
    const present = new Set(scan.processes.map((p) => p.info.pid));
    const found = wanted.filter((pid) => present.has(pid));
    if (found.length === 0) throw new NoSuchProcessError(wanted[0]!);
  }
  const cgroups = by === "cgroup" || o.charges ? MemoryCgroups.find(ctx.procfs) : undefined;
  const report = buildGroupsReport(scan, {
    by,
    pids: o.pids,
    rootPids: o.rootPid,
    sort: o.sort,
    reverse: o.reverse,
    cgroupPaths: by === "unit" ? readUnitPaths(ctx, scan) : undefined,
    cgroups,
    charges: o.charges,
  });
  // An unavailable charges view says why in its own place (the table, or charges.notes in JSON).
  const notes = [...report.notes, ...(report.charges?.available ? report.charges.notes : [])];
  if (cgroups?.walkNote) notes.push(`memory cgroups: ${cgroups.walkNote}`);
  if ((by === "cgroup" || o.charges) && !cgroups) notes.push("no memory cgroup hierarchy found (no sysfs, or the memory controller is not mounted): the kernel's own cgroup accounting is not shown");
  if (o.json) ctx.io.stdout(renderGroupsJson({ ...report, notes }));
  else if (o.csv) {
    writeGroupsCsv(report, ctx.io.stdout);
    printNotes(ctx, notes);
  } else {
    const t = tableOutput(ctx, o.units, o.wide === true);
    writeGroupsTable(report, t, ctx.io.stdout);
    printNotes(ctx, notes);
    noteFit(ctx, t);
  }
  return 0;
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
    .option("--pids <list>", "one ad hoc group of these pids (comma-separated), against everything else", (t: string) => parsePidsOption(t, "--pids"))
    .option("--root-pid <list>", "with --by tree: the trees of these pids (comma-separated), against everything else", (t: string) => parsePidsOption(t, "--root-pid"))
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
