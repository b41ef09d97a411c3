/** Who a process is: pid, parent, owner, name, command line, memory cgroup and start time. */
import { memoryCgroupOf } from "../parse/kernel-config.js";
import { parseStatStartTime } from "../parse/stat.js";
import { parseCmdline, parseStatusFields } from "../parse/status.js";
import type { ProcFs } from "../procfs/procfs.js";
import type { UserNames } from "../procfs/users.js";

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number | undefined;
  readonly user: string;
  /** The kernel's short name (comm, at most 15 bytes): the true bytes, unescaped (see unescapeStatusName). */
  readonly comm: string;
  /** Arguments; empty for kernel threads and zombies. */
  readonly cmdline: readonly string[];
  /** The memory cgroup path (v1 memory hierarchy or v2), when known. */
  readonly cgroup: string | undefined;
  /** Resident set size from status (VmRSS), a cheap estimate; undefined for kernel threads. */
  readonly vmRssBytes: number | undefined;
  /** Swapped-out memory from status (VmSwap); undefined for kernel threads. */
  readonly vmSwapBytes?: number;
  /**
   * When the process started: clock ticks after boot (/proc/PID/stat field
   * 22). With the pid it names the process across scans (a reused pid has
   * another start time); undefined when stat is missing (a fixture tree).
   */
  readonly startTime?: number;
}

/** A display command: the command line, else the name in brackets (as ps does for kernel threads). */
export function commandOf(info: ProcessInfo): string {
  return info.cmdline.length > 0 ? info.cmdline.join(" ") : `[${info.comm}]`;
}

/** Read a process's identity. Throws ProcessGoneError if it has exited. */
export function readProcessInfo(procfs: ProcFs, pid: number, users: UserNames): ProcessInfo {
  const status = parseStatusFields(procfs.readPidText(pid, "status"), procfs.pidPath(pid, "status"));
  const startTime = startTimeOf(procfs, pid);
  let cmdline: string[] = [];
  let cgroup: string | undefined;
  const uid = status.uids[0];
  // Kernel threads (status "Kthread: 1", 6.x) have no command line and no user memory: skip two reads each.
  if (status.kthread) return { pid, ppid: status.ppid, uid, user: users.nameOf(uid), comm: status.name, cmdline, cgroup, vmRssBytes: undefined, vmSwapBytes: undefined, startTime };
  try {
    cmdline = parseCmdline(procfs.readPidText(pid, "cmdline"));
  } catch {
    // cmdline is only informative; status already proved the process exists.
  }
  try {
    cgroup = memoryCgroupOf(procfs.readPidText(pid, "cgroup"));
  } catch {
    cgroup = undefined;
  }
  return { pid, ppid: status.ppid, uid, user: users.nameOf(uid), comm: status.name, cmdline, cgroup, vmRssBytes: status.vmRssBytes, vmSwapBytes: status.vmSwapBytes, startTime };
}

/** The start time from stat; like cmdline only informative, so any failure leaves it undefined. */
function startTimeOf(procfs: ProcFs, pid: number): number | undefined {
  try {
    const text = procfs.readOptionalPidText(pid, "stat");
    return text === undefined ? undefined : parseStatStartTime(text);
  } catch {
    return undefined;
  }
}
