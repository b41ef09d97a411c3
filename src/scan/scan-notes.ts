/**
 * The notes a scan leaves about processes it could not measure, in the
 * reader's terms: which privilege is missing (or that none would help), and
 * which file of which process is bad. One note per kind, never per reader.
 */

/** What the notes need of a scanned process (system-scan.ts's ScannedProcess has it; named here so the two modules do not import each other). */
export interface NotedProcess {
  readonly state: string;
  readonly reason?: string;
  readonly info: { readonly pid: number };
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/**
 * `vanished`: processes that exited between being listed and being read.
 * `asRoot`: the scan ran with root's privileges. Then an unreadable process
 * refuses ptrace read access even to root (it made itself undumpable, or a
 * security module says no) and nothing the user can do changes that; without
 * root it is another user's process, and running as root would read it.
 */
export function stateNotes(processes: readonly NotedProcess[], asRoot: boolean, vanished = 0): string[] {
  const notes: string[] = [];
  // Normal on a live machine; a note (stderr) like every other, so stdout holds only the report.
  if (vanished > 0) notes.push(`${plural(vanished, "process", "processes")} exited during the scan: not shown, not in the totals.`);
  const unreadable = processes.filter((p) => p.state === "unreadable").length;
  if (unreadable > 0) {
    const one = unreadable === 1;
    const who = plural(unreadable, "process", "processes");
    const their = one ? "its" : "their";
    notes.push(
      asRoot
        ? `${who} ${one ? "refuses" : "refuse"} ptrace read access even to root (not dumpable, or denied by a security module): ` +
            `shown as unreadable, ${their} memory is not in the totals.`
        : `${who} of other users cannot be read: ${their} maps, smaps_rollup and pagemap need ptrace read access (the same user, or root). ` +
            `Shown as unreadable, ${their} memory is not in the totals; run as root to include ${one ? "it" : "them"}.`,
    );
  }
  for (const p of processes)
    if (p.state === "bad-input") notes.push(`process ${p.info.pid} left out (not measured, not in the totals): ${p.reason ?? "a file of it could not be read"}`);
  return notes;
}
