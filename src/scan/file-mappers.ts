/**
 * Which processes map a file, and how many of its page-cache pages each has
 * in its page tables.
 *
 * Every process's maps is read once and its file mappings indexed by inode.
 * For a file, the processes with a mapping of it then have their pagemap read
 * over those mappings only: a present entry with PM_FILE inside a mapping of
 * the file is one of the file's page-cache pages (a page copied on write in a
 * MAP_PRIVATE mapping is anonymous and has no PM_FILE). No PFN is needed, so
 * this also works without root, for the processes the caller may read.
 *
 * Mappings are matched by device and inode as maps prints them, or by inode
 * and path where the devices differ (btrfs subvolumes and overlayfs report
 * another st_dev through stat than the superblock's, which maps shows).
 */
import * as fs from "node:fs";
import { PermissionError, ProcessGoneError, ProcReadError } from "../errors.js";
import { PM_FILE_HI, PM_PRESENT_HI } from "../decode/pagemap.js";
import { parseMaps, type Vma } from "../parse/maps.js";
import type { ProcFs } from "../procfs/procfs.js";
import type { UserNames } from "../procfs/users.js";
import type { FileTarget } from "./file-walk.js";
import { commandOf, readProcessInfo } from "./process-info.js";
import { PagemapBuffer, readPagemap } from "./read-pagemap.js";

interface ProcMappings {
  readonly pid: number;
  readonly vmas: Vma[];
}

export interface MappingIndex {
  /** inode -> processes with a file mapping of that inode (any device). */
  readonly byInode: ReadonlyMap<number, readonly ProcMappings[]>;
  /** Processes whose maps the kernel would not show. */
  readonly unreadable: number;
}

export interface FileMapper {
  readonly pid: number;
  readonly user: string;
  readonly command: string;
  /** Mappings (VMAs) of the file in this process. */
  readonly mappings: number;
  /** Bytes of address space those mappings span. */
  readonly mappedBytes: number;
  /** Resident pages of the file in those mappings (page-table entries; a page mapped twice counts twice); null if unreadable. */
  readonly residentPages: number | null;
  /** Why residentPages is null. */
  readonly reason?: string;
}

/** Read every process's maps (except `excludePid`, ourselves) and index file mappings by inode. */
export function indexFileMappings(procfs: ProcFs, excludePid: number): MappingIndex {
  const byInode = new Map<number, ProcMappings[]>();
  let unreadable = 0;
  for (const pid of procfs.listPids()) {
    if (pid === excludePid) continue;
    let vmas: Vma[];
    try {
      vmas = parseMaps(procfs.readText(`${pid}/maps`, pid), procfs.path(pid, "maps"));
    } catch (err) {
      if (err instanceof PermissionError) unreadable++;
      else if (!(err instanceof ProcessGoneError || err instanceof ProcReadError)) throw err;
      continue;
    }
    const perInode = new Map<number, Vma[]>();
    for (const v of vmas) {
      if (v.inode === 0) continue;
      let list = perInode.get(v.inode);
      if (!list) perInode.set(v.inode, (list = []));
      list.push(v);
    }
    for (const [ino, list] of perInode) {
      let procs = byInode.get(ino);
      if (!procs) byInode.set(ino, (procs = []));
      procs.push({ pid, vmas: list });
    }
  }
  return { byInode, unreadable };
}

function devOf(vma: Vma): { major: number; minor: number } {
  const colon = vma.dev.indexOf(":");
  return { major: parseInt(vma.dev.slice(0, colon), 16), minor: parseInt(vma.dev.slice(colon + 1), 16) };
}

/** The mappers of one file, by pid. */
export function mappersOf(procfs: ProcFs, index: MappingIndex, target: FileTarget, pageSize: number, users: UserNames): FileMapper[] {
  const candidates = index.byInode.get(target.inode);
  if (!candidates) return [];
  let real: string | undefined;
  const realPath = (): string => {
    if (real === undefined) {
      try {
        real = fs.realpathSync(target.path);
      } catch {
        real = target.path;
      }
    }
    return real;
  };
  const out: FileMapper[] = [];
  const buf = new PagemapBuffer();
  for (const c of candidates) {
    const vmas = c.vmas.filter((v) => {
      const d = devOf(v);
      if (d.major === target.major && d.minor === target.minor) return true;
      const name = v.deleted ? v.name.slice(0, -" (deleted)".length) : v.name;
      return name === realPath();
    });
    if (vmas.length === 0) continue;
    let user = "?";
    let command = "?";
    try {
      const info = readProcessInfo(procfs, c.pid, users);
      user = info.user;
      command = commandOf(info);
    } catch (err) {
      if (err instanceof ProcessGoneError) continue;
      if (!(err instanceof PermissionError || err instanceof ProcReadError)) throw err;
    }
    const mappedBytes = vmas.reduce((a, v) => a + (v.end - v.start), 0);
    let resident: number | null = 0;
    let reason: string | undefined;
    try {
      readPagemap(procfs, c.pid, vmas, pageSize, buf, (u32, count) => {
        let n = 0;
        for (let i = 0; i < count; i++) {
          const hi = u32[2 * i + 1]!;
          if ((hi & PM_PRESENT_HI) !== 0 && (hi & PM_FILE_HI) !== 0) n++;
        }
        resident = (resident ?? 0) + n;
      });
    } catch (err) {
      if (err instanceof ProcessGoneError) continue;
      if (!(err instanceof PermissionError || err instanceof ProcReadError)) throw err;
      resident = null;
      reason = err.message;
    }
    out.push({ pid: c.pid, user, command, mappings: vmas.length, mappedBytes, residentPages: resident, ...(reason === undefined ? {} : { reason }) });
  }
  return out.sort((a, b) => a.pid - b.pid);
}
