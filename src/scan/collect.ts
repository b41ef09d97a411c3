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
 * Parsed maps and process identities kept from one scan to the next
 * (scanner.ts): a process whose maps text is unchanged gets the same
 * (read-only) Vma objects again, so a repeated scan of a steady machine
 * parses nothing and makes no new ones.
 *
 * A process whose maps did change (the scanning process itself, any
 * runtime that maps and unmaps heap: a few lines of a few hundred change
 * between two scans) gets its unchanged mappings' old objects too, and new
 * ones only for the lines that are new; an unchanged identity is last
 * scan's object (infoOf). Whatever a scan holds on to is, for V8, an object
 * that survives the scavenges during the scan; enough of those and V8
 * doubles its young generation, which a long-running caller sees as a step
 * in RSS (docs/performance.md section 3). Keeping the entry found when the
 * text is unchanged (not a new one holding the new, equal text) is for the
 * same reason.
 */
export class MapsCache {
  private entries = new Map<number, { text: string; vmas: Vma[] }>();
  private seen = new Map<number, { text: string; vmas: Vma[] }>();
  private infos = new Map<number, ProcessInfo>();
  private seenInfos = new Map<number, ProcessInfo>();

  /**
   * The process's identity as read this scan, made of last scan's pieces
   * where they are the same: the same object when nothing changed, else
   * a new one holding last scan's strings and command line wherever they
   * are equal. What is read anew (status, cmdline, cgroup text and the
   * slices of it) then dies young, and what the scan holds for the rest of
   * its run is mostly what it held before (see the class comment).
   */
  infoOf(info: ProcessInfo): ProcessInfo {
    const old = this.infos.get(info.pid);
    let same = info;
    if (old !== undefined && old.startTime === info.startTime) {
      const cmdline = sameStrings(old.cmdline, info.cmdline) ? old.cmdline : info.cmdline;
      const comm = old.comm === info.comm ? old.comm : info.comm;
      const cgroup = old.cgroup === info.cgroup ? old.cgroup : info.cgroup;
      const user = old.user === info.user ? old.user : info.user;
      if (cmdline === old.cmdline && comm === old.comm && cgroup === old.cgroup && user === old.user && old.ppid === info.ppid && old.uid === info.uid && old.vmRssBytes === info.vmRssBytes && old.vmSwapBytes === info.vmSwapBytes)
        same = old;
      else same = { ...info, cmdline, comm, cgroup, user };
    }
    this.seenInfos.set(info.pid, same);
    return same;
  }

  vmasOf(procfs: ProcFs, pid: number, text: string): Vma[] {
    const old = this.entries.get(pid);
    if (old !== undefined && old.text === text) {
      this.seen.set(pid, old);
      return old.vmas;
    }
    const vmas = parseMaps(text, procfs.pidPath(pid, "maps"));
    if (old !== undefined) keepUnchanged(vmas, old.vmas);
    this.seen.set(pid, { text, vmas });
    return vmas;
  }

  /** Forget the processes not seen since the last call (those that exited, or were not asked for). */
  endScan(): void {
    this.entries = this.seen;
    this.seen = new Map();
    this.infos = this.seenInfos;
    this.seenInfos = new Map();
  }
}

/**
 * In `fresh` (a process's maps parsed again), put back the object of
 * `old` (its maps before) for every mapping printed the same, and give
 * every other one strings of its own. Both lists are in address order.
 * The strings: a parsed Vma's strings are slices of the maps text, so a Vma
 * kept across texts would hold on to the text it was parsed from, one text
 * per change it outlived; its own copies hold only themselves.
 */
function keepUnchanged(fresh: Vma[], old: readonly Vma[]): void {
  let j = 0;
  for (let i = 0; i < fresh.length; i++) {
    const v = fresh[i]!;
    while (j < old.length && old[j]!.start < v.start) j++;
    const o = old[j];
    if (o !== undefined && o.range === v.range && o.perms === v.perms && o.offset === v.offset && o.dev === v.dev && o.inode === v.inode && o.name === v.name) fresh[i] = o;
    // range and name are the only strings long enough to be slices (V8 copies substrings under 13 characters).
    else fresh[i] = { ...v, range: ownCopy(v.range), name: ownCopy(v.name) };
  }
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A string with the same characters that is not a slice of another (see keepUnchanged); UTF-16 round-trips every string exactly. */
function ownCopy(s: string): string {
  return s.length === 0 ? s : Buffer.from(s, "utf16le").toString("utf16le");
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
      if (mapsCache) info = mapsCache.infoOf(info);
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
