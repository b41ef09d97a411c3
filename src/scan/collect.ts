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

/** A process whose page tables are to be read. */
export interface Candidate {
  readonly info: ProcessInfo;
  readonly vmas: Vma[];
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

export function discoverProcesses(
  procfs: ProcFs,
  pids: readonly number[],
  users: UserNames,
  select?: (info: ProcessInfo) => boolean,
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
      vmas = parseMaps(procfs.readText(`${pid}/maps`, pid), procfs.path(pid, "maps"));
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
    candidates.push({ info, vmas });
  }
  return { candidates, skipped, vanished, missing };
}
