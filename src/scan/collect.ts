/**
 * Process discovery: who is there, who they are, and what they map. Cheap
 * per process (status, cmdline, cgroup, maps); the expensive page-table reads
 * come later, for the candidates found here.
 */
import { ParseError, PermissionError, ProcessGoneError, ProcReadError } from "../errors.js";
import { parseMaps, type Vma } from "../parse/maps.js";
import type { ProcFs } from "../procfs/procfs.js";
import type { UserNames } from "../procfs/users.js";
import { readProcessInfo, type ProcessInfo } from "./process-info.js";
import { mayMapKsmPages, parseKsmStat } from "../parse/ksm-stat.js";

/** ksm_stat's verdict; true (assume KSM pages) when it cannot be read: a missing file (no CONFIG_KSM, old kernel) proves nothing. */
function mayMapKsmOf(procfs: ProcFs, pid: number): boolean {
  try {
    return mayMapKsmPages(parseKsmStat(procfs.readPidText(pid, "ksm_stat")));
  } catch {
    return true;
  }
}

/** A process whose page tables are to be read. */
export interface Candidate {
  readonly info: ProcessInfo;
  readonly vmas: Vma[];
  /** From /proc/PID/ksm_stat when asked for: may the process map KSM pages? (undefined: not asked) */
  readonly mayMapKsm?: boolean;
}

export type Skipped =
  | { readonly info: ProcessInfo; readonly why: "unreadable"; readonly reason: string }
  | { readonly info: ProcessInfo; readonly why: "bad-input"; readonly reason: string }
  | { readonly info: ProcessInfo; readonly why: "no-mm"; readonly reason: string };

export interface Discovery {
  readonly candidates: Candidate[];
  readonly skipped: Skipped[];
  /** Seen (status read), then gone before its maps could be read. */
  readonly vanished: number[];
  /** Not there when its status was read: exited after the listing, or (a pid asked for) never existed. */
  readonly missing: number[];
}

/**
 * Parsed maps kept from one scan to the next (scanner.ts): a process whose
 * maps text is unchanged gets the same (read-only) Vma objects again, so a
 * repeated scan of a steady machine parses nothing and makes no new ones.
 */
export class MapsCache {
  private entries = new Map<number, { text: string; vmas: Vma[] }>();
  private seen = new Map<number, { text: string; vmas: Vma[] }>();

  vmasOf(procfs: ProcFs, pid: number, text: string): Vma[] {
    const old = this.entries.get(pid);
    const vmas = old && old.text === text ? old.vmas : parseMaps(text, procfs.pidPath(pid, "maps"));
    this.seen.set(pid, { text, vmas });
    return vmas;
  }

  /** Forget the processes not seen since the last call (those that exited, or were not asked for). */
  endScan(): void {
    this.entries = this.seen;
    this.seen = new Map();
  }
}

export function discoverProcesses(
  procfs: ProcFs,
  pids: readonly number[],
  users: UserNames,
  select?: (info: ProcessInfo) => boolean,
  /** Read each candidate's ksm_stat (only worth it once KSM has merged something). */
  ksm = false,
  mapsCache?: MapsCache,
): Discovery {
  const candidates: Candidate[] = [];
  const skipped: Skipped[] = [];
  const vanished: number[] = [];
  const missing: number[] = [];
  for (const pid of pids) {
    let info: ProcessInfo;
    try {
      info = readProcessInfo(procfs, pid, users);
    } catch (err) {
      if (err instanceof ProcessGoneError) {
        missing.push(pid);
        continue;
      }
      if (!(err instanceof ParseError || err instanceof ProcReadError)) throw err;
      // A malformed status: the process is still listed, by pid and the owner of its directory, and left
      // out with the reason; the others are measured. Its name and parent are unknown.
      const uid = procfs.ownerOf(pid);
      const unknown: ProcessInfo = { pid, ppid: 0, uid, user: users.nameOf(uid), comm: "?", cmdline: [], cgroup: undefined, vmRssBytes: undefined };
      if (!select || select(unknown)) skipped.push({ info: unknown, why: "bad-input", reason: err.message });
      continue;
    }
    if (select && !select(info)) continue;
    let vmas: Vma[];
    try {
      const text = procfs.readPidText(pid, "maps");
      vmas = mapsCache ? mapsCache.vmasOf(procfs, pid, text) : parseMaps(text, procfs.pidPath(pid, "maps"));
    } catch (err) {
      if (err instanceof ProcessGoneError) vanished.push(pid);
      else if (err instanceof PermissionError) skipped.push({ info, why: "unreadable", reason: err.message });
      // A malformed maps of one process leaves that process out with the reason; the others are still measured.
      else if (err instanceof ParseError || err instanceof ProcReadError) skipped.push({ info, why: "bad-input", reason: err.message });
      else throw err;
      continue;
    }
    if (vmas.length === 0) {
      skipped.push({ info, why: "no-mm", reason: info.cmdline.length === 0 ? "kernel thread or zombie: no user memory" : "no mappings" });
      continue;
    }
    candidates.push(ksm ? { info, vmas, mayMapKsm: mayMapKsmOf(procfs, pid) } : { info, vmas });
  }
  mapsCache?.endScan();
  return { candidates, skipped, vanished, missing };
}
