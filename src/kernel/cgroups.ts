/**
 * Memory cgroups: where the memory controller's hierarchy is mounted (v1 or
 * v2), which directory a /proc/kpagecgroup inode names, what the kernel's own
 * accounting of a cgroup says, and which systemd unit or container a cgroup
 * path belongs to.
 *
 * kpagecgroup reports the inode number of the memory cgroup directory a page
 * is charged to (the nearest online ancestor when that cgroup was removed),
 * so inodes are mapped back to paths by walking the hierarchy and stat-ing
 * each directory. Paths here are hierarchy paths as /proc/PID/cgroup prints
 * them ("/system.slice/nginx.service"), never filesystem paths.
 */
import * as path from "node:path";
import { ProcReadError } from "../errors.js";
import type { ProcFs } from "../procfs/procfs.js";

// ---------------------------------------------------------------------------
// mountinfo

export interface MountEntry {
  /** The part of the filesystem mounted here (for cgroupfs: a hierarchy path). */
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: readonly string[];
}

/** mountinfo escapes space, tab, newline and backslash as 3-digit octal (fs/proc_namespace.c show_mountinfo). */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * /proc/PID/mountinfo: "id parent maj:min root mountpoint options [optional...] - fstype source superoptions".
 * Lines that do not have that shape are skipped: this is only used to find cgroup mounts.
 */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const dash = f.indexOf("-", 6);
    if (f.length < 10 || dash < 0 || dash + 3 >= f.length) continue;
    out.push({
      root: unescapeMountField(f[3]!),
      mountPoint: unescapeMountField(f[4]!),
      fsType: f[dash + 1] ?? "",
      superOptions: (f[dash + 3] ?? "").split(","),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// the kernel's own accounting of one cgroup

/** Hierarchical figures (the cgroup and everything below it), in bytes; null where the kernel does not give them. */
export interface CgroupAccounting {
  readonly version: 1 | 2;
  /** v1 memory.usage_in_bytes, v2 memory.current: every charged byte, including page cache and (v2, or v1 with kmem) kernel memory. */
  readonly usage: number | null;
  /** Anonymous memory: v1 total_rss (includes swap cache), v2 anon. */
  readonly anon: number | null;
  /** Page cache including shmem: v1 total_cache, v2 file. */
  readonly file: number | null;
  /** Page cache mapped by processes, including mapped shmem: v1 total_mapped_file, v2 file_mapped. */
  readonly fileMapped: number | null;
  readonly shmem: number | null;
  /** Swap used: v1 total_swap, v2 memory.swap.current. */
  readonly swap: number | null;
}

/** memory.stat: "name value" per line. */
export function parseMemoryStat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_0-9]+) ([0-9]+)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function numberOf(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = text.trim();
  // v2 prints "max" for unlimited limits; usage files are always numbers, but be strict.
  return /^[0-9]+$/.test(t) ? Number(t) : null;
}

/**
 * The accounting from a cgroup's files. v1 memory.stat has local and
 * "total_" (hierarchical) fields; v2's are hierarchical already. Both are
 * reported hierarchically so that v1 and v2 read the same way.
 */
export function accountingOf(version: 1 | 2, files: { stat?: string; usage?: string; swap?: string }): CgroupAccounting {
  const stat = files.stat === undefined ? new Map<string, number>() : parseMemoryStat(files.stat);
  const g = (k: string): number | null => stat.get(k) ?? null;
  if (version === 1)
    return {
      version,
      usage: numberOf(files.usage),
      anon: g("total_rss"),
      file: g("total_cache"),
      fileMapped: g("total_mapped_file"),
      shmem: g("total_shmem"),
      swap: g("total_swap"),
    };
  return { version, usage: numberOf(files.usage), anon: g("anon"), file: g("file"), fileMapped: g("file_mapped"), shmem: g("shmem"), swap: numberOf(files.swap) };
}

// ---------------------------------------------------------------------------
// the memory hierarchy

/** Where the memory controller's hierarchy is, as this reader sees it. */
export interface MemoryHierarchy {
  readonly version: 1 | 2;
  /** Filesystem path of the mount (e.g. /sys/fs/cgroup/memory). */
  readonly mountPoint: string;
  /** Hierarchy path mounted there ("/" unless only part of it is visible, e.g. in a container). */
  readonly mountRoot: string;
}

/**
 * The memory hierarchy among the mounts: a v1 mount with the "memory"
 * option, else a cgroup2 mount whose root lists "memory" in
 * cgroup.controllers (`controllersOf` reads it). The kernel binds the
 * controller to one hierarchy only, so v1 wins when both exist (the hybrid
 * layout, where cgroup2 is mounted at /sys/fs/cgroup/unified without memory).
 */
export function pickMemoryHierarchy(mounts: readonly MountEntry[], controllersOf: (m: MountEntry) => string | undefined): MemoryHierarchy | undefined {
  const v1 = mounts.find((m) => m.fsType === "cgroup" && m.superOptions.includes("memory"));
  if (v1) return { version: 1, mountPoint: v1.mountPoint, mountRoot: v1.root };
  for (const m of mounts) {
    if (m.fsType !== "cgroup2") continue;
    if ((controllersOf(m) ?? "").split(/\s+/).includes("memory")) return { version: 2, mountPoint: m.mountPoint, mountRoot: m.root };
  }
  return undefined;
}

/** Hierarchy path joined under a parent hierarchy path. */
function childPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

/** Is `a` an ancestor of (or the same as) `b`, as hierarchy paths? */
export function isAncestorPath(a: string, b: string): boolean {
  return a === "/" || a === b || b.startsWith(a.endsWith("/") ? a : `${a}/`);
}

/** A sanity bound on the directories walked: a machine with more memory cgroups than this is not one we can name them on. */
const MAX_CGROUPS = 200_000;

/**
 * The memory cgroup hierarchy of a machine (or of a procfs/sysfs tree):
 * inode <-> path and each cgroup's accounting. Files are read through
 * ProcFs's sysfs root, so fixture trees work the same way as the live /sys.
 */
export class MemoryCgroups {
  private byInode: Map<number, string> | undefined;
  private byPath: Map<string, number> | undefined;
  /** Set when the walk stopped early (too many cgroups, or a directory vanished mid-walk). */
  walkNote: string | undefined;

  private constructor(
    private readonly procfs: ProcFs,
    readonly hierarchy: MemoryHierarchy,
    /** The mount point relative to the sysfs root. */
    private readonly rel: string,
  ) {}

  /**
   * Find the memory hierarchy from `self/mountinfo` under the procfs root;
   * without one (a fixture tree), look for the usual places under the
   * sysfs root. Undefined when there is no sysfs root or no memory controller.
   */
  static find(procfs: ProcFs): MemoryCgroups | undefined {
    if (procfs.sysRoot === undefined) return undefined;
    const relOf = (mountPoint: string): string => path.posix.relative("/sys", mountPoint);
    const text = procfs.readOptionalText("self/mountinfo");
    let h: MemoryHierarchy | undefined;
    if (text !== undefined) {
      h = pickMemoryHierarchy(parseMountinfo(text), (m) => procfs.readSysText(`${relOf(m.mountPoint)}/cgroup.controllers`));
    } else if (procfs.readSysText("fs/cgroup/memory/memory.stat") !== undefined) {
      h = { version: 1, mountPoint: "/sys/fs/cgroup/memory", mountRoot: "/" };
    } else if ((procfs.readSysText("fs/cgroup/cgroup.controllers") ?? "").split(/\s+/).includes("memory")) {
      h = { version: 2, mountPoint: "/sys/fs/cgroup", mountRoot: "/" };
    }
    return h === undefined ? undefined : new MemoryCgroups(procfs, h, relOf(h.mountPoint));
  }

  get version(): 1 | 2 {
    return this.hierarchy.version;
  }

  /** The sysfs-relative directory of a hierarchy path, or undefined when it lies outside what is mounted. */
  dirOf(cgroupPath: string): string | undefined {
    const root = this.hierarchy.mountRoot;
    if (!isAncestorPath(root, cgroupPath)) return undefined;
    const below = root === "/" ? cgroupPath : cgroupPath.slice(root.length);
    return path.posix.join(this.rel, below);
  }

  /** Walk the hierarchy once, building inode <-> path. */
  private walk(): void {
    if (this.byInode) return;
    const byInode = new Map<number, string>();
    const byPath = new Map<string, number>();
    const stack: { dir: string; cg: string }[] = [{ dir: this.rel, cg: this.hierarchy.mountRoot }];
    while (stack.length > 0) {
      const { dir, cg } = stack.pop()!;
      let d: { ino: number; subdirs: string[] } | undefined;
      try {
        d = this.procfs.readSysDir(dir);
      } catch (err) {
        if (!(err instanceof ProcReadError)) throw err;
        this.walkNote = `cannot read ${err.file}: ${err.reason}`;
        continue;
      }
      // Cgroups come and go: one removed between readdir and stat is simply not there.
      if (d === undefined) continue;
      byInode.set(d.ino, cg);
      byPath.set(cg, d.ino);
      if (byPath.size >= MAX_CGROUPS) {
        this.walkNote = `stopped after ${MAX_CGROUPS} memory cgroups; others are shown by inode`;
        break;
      }
      for (const name of d.subdirs) stack.push({ dir: `${dir}/${name}`, cg: childPath(cg, name) });
    }
    this.byInode = byInode;
    this.byPath = byPath;
  }

  /** The hierarchy path of the cgroup whose directory has this inode (as /proc/kpagecgroup gives it). */
  pathOf(inode: number): string | undefined {
    this.walk();
    return this.byInode!.get(inode);
  }

  inodeOf(cgroupPath: string): number | undefined {
    this.walk();
    return this.byPath!.get(cgroupPath);
  }

  /** Every known cgroup: path -> inode. */
  all(): ReadonlyMap<string, number> {
    this.walk();
    return this.byPath!;
  }

  /** The kernel's accounting of a cgroup, or undefined when its directory cannot be found. */
  accounting(cgroupPath: string): CgroupAccounting | undefined {
    const dir = this.dirOf(cgroupPath);
    if (dir === undefined) return undefined;
    const read = (f: string): string | undefined => this.procfs.readSysText(`${dir}/${f}`);
    const stat = read("memory.stat");
    const usage = read(this.version === 1 ? "memory.usage_in_bytes" : "memory.current");
    if (stat === undefined && usage === undefined) return undefined;
    return accountingOf(this.version, { stat, usage, swap: this.version === 2 ? read("memory.swap.current") : undefined });
  }
}

// ---------------------------------------------------------------------------
// units and containers

export type UnitKind = "pod" | "docker" | "podman" | "containerd" | "crio" | "lxc" | "machine" | "service" | "scope" | "slice" | "cgroup" | "root";

export interface UnitInfo {
  readonly kind: UnitKind;
  /** The group key: "nginx.service", "docker:3f2a9c1d0b7e", "pod:0b6e...", or the cgroup path when nothing is recognised. */
  readonly name: string;
  /** For pods: the container id inside the pod, when the path names one (12 hex digits). */
  readonly container?: string;
}

const HEX64 = "[0-9a-f]{64}";
const POD_UID = "[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32}";

/** systemd escapes unit-name characters as \xNN (systemd-escape); "-" inside a name is \x2d. */
function systemdUnescape(s: string): string {
  return s.replace(/\\x([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * The systemd unit or container a cgroup path belongs to, or undefined when
 * the path matches no known layout. Containers are checked first because
 * their cgroups sit inside systemd slices (docker's systemd driver puts a
 * container at /system.slice/docker-ID.scope). Kubernetes pods are keyed by
 * pod, since a pod's containers share a budget; the container id is kept.
 */
export function unitOfPath(cgroupPath: string): UnitInfo | undefined {
  const p = cgroupPath;
  let m: RegExpExecArray | null;
  if (p.includes("kubepods") && (m = new RegExp(`pod(${POD_UID})(?:\\.slice)?(?:/|$)`).exec(p))) {
    const uid = m[1]!.replaceAll("_", "-");
    const c = new RegExp(`(?:^|/|-)(${HEX64})(?:\\.scope)?$`).exec(p);
    return c ? { kind: "pod", name: `pod:${uid}`, container: c[1]!.slice(0, 12) } : { kind: "pod", name: `pod:${uid}` };
  }
  if ((m = new RegExp(`(?:^|/)docker[-/](${HEX64})(?:\\.scope)?(?:/|$)`).exec(p))) return { kind: "docker", name: `docker:${m[1]!.slice(0, 12)}` };
  if ((m = new RegExp(`(?:^|/)libpod-(${HEX64})(?:\\.scope)?(?:/|$)`).exec(p))) return { kind: "podman", name: `podman:${m[1]!.slice(0, 12)}` };
  if ((m = new RegExp(`(?:^|/)cri-containerd-(${HEX64})\\.scope(?:/|$)`).exec(p))) return { kind: "containerd", name: `containerd:${m[1]!.slice(0, 12)}` };
  if ((m = new RegExp(`(?:^|/)crio-(${HEX64})\\.scope(?:/|$)`).exec(p))) return { kind: "crio", name: `crio:${m[1]!.slice(0, 12)}` };
  if ((m = /(?:^|\/)lxc\.payload[./]([^/]+)/.exec(p)) || (m = /(?:^|\/)lxc\/([^/]+)/.exec(p))) return { kind: "lxc", name: `lxc:${m[1]!}` };
  if ((m = /(?:^|\/)machine-([^/]+)\.scope(?:\/|$)/.exec(p))) return { kind: "machine", name: `machine:${systemdUnescape(m[1]!)}` };
  const parts = p.split("/").filter((s) => s !== "");
  // The deepest service or scope: a session scope inside user@1000.service names the session, not the user manager.
  for (let i = parts.length - 1; i >= 0; i--) {
    const s = /\.(service|scope)$/.exec(parts[i]!);
    if (s) return { kind: s[1] as "service" | "scope", name: parts[i]! };
  }
  for (let i = parts.length - 1; i >= 0; i--) if (parts[i]!.endsWith(".slice")) return { kind: "slice", name: parts[i]! };
  return undefined;
}

/**
 * The unit of a process from its cgroup paths, most telling first (the
 * memory cgroup, then systemd's own hierarchy and the v2 one): the first
 * path that names a unit or container wins. When none does, the first
 * non-root path is the key as it is, and a process only in "/" is "/".
 */
export function unitOf(paths: readonly (string | undefined)[]): UnitInfo {
  const known = paths.filter((p): p is string => p !== undefined && p !== "");
  for (const p of known) {
    const u = unitOfPath(p);
    if (u) return u;
  }
  const other = known.find((p) => p !== "/");
  return other === undefined ? { kind: "root", name: "/" } : { kind: "cgroup", name: other };
}
