/**
 * Groups of processes: the cgroup helpers (mountinfo, units, accounting) and
 * the group report on a fixture machine whose every page is known, so each
 * expected figure below is worked out by hand from the fixture:
 *
 *   pid 100 alice  /system.slice/app.service   4 private anon pages (settled without lookup by default)
 *                                              6 anon pages COW-shared with its two children (count 3)
 *                                              1 libc page (count 4: 100, 101, 102, 200)
 *   pid 101 alice  child of 100, same cgroup    the 6 COW pages, libc, 1 private page
 *   pid 102 bob    child of 100, same cgroup    the 6 COW pages, libc, 1 private page
 *   pid 200 bob    /system.slice/docker-ID.scope  libc, 2 private pages, one shmem page mapped twice
 *                                              by itself (count 2), a zero-page PTE
 *
 * kpagecgroup: the tree's anon pages and the shmem page are charged to
 * app.service, pid 200's private pages to the docker scope, libc to "/".
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { accountingOf, isAncestorPath, MemoryCgroups, parseMemoryStat, parseMountinfo, pickMemoryHierarchy, unitOf, unitOfPath } from "../../src/kernel/cgroups.js";
import { ProcFs } from "../../src/procfs/procfs.js";
import { buildCharges, buildGroupsReport, measureGroups, settledBytes, sortGroups, treeGroups, type GroupRow, type GroupsReport } from "../../src/report/groups-report.js";
import { distinctMappedOf } from "../../src/report/distinct-mapped.js";
import { renderGroupsTable } from "../../src/render/groups-render.js";
import { sumRows } from "../../src/accounting/usage.js";
import { scanSystem, type Scan } from "../../src/scan/system-scan.js";
import { forEachProcessRun } from "../../src/scan/scan-data.js";
import { run } from "../../src/cli/run.js";
import { captureIo, FixtureTree } from "../support/fixture-tree.js";
import { anonPage, anonPte, filePage, PAGE_SIZE, pte, shmemPage, zeroPage } from "../support/pagemap-builder.js";

const P = PAGE_SIZE;
const DOCKER_ID = "3f2a9c1d0b7e" + "a".repeat(52);

describe("cgroup helpers", () => {
  it("parses mountinfo, with optional fields and octal escapes", () => {
    const text = [
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory",
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
      "50 23 0:40 /docker/abc /mnt/with\\040space rw - cgroup2 cgroup2 rw,nsdelegate",
      "garbage line",
    ].join("\n");
    const m = parseMountinfo(text);
    assert.equal(m.length, 3);
    assert.deepEqual(m[0], { root: "/", mountPoint: "/sys/fs/cgroup/memory", fsType: "cgroup", superOptions: ["rw", "memory"] });
    assert.equal(m[2]!.mountPoint, "/mnt/with space");
    assert.equal(m[2]!.root, "/docker/abc");
  });

  it("picks the v1 memory hierarchy on a hybrid machine, else a v2 mount whose root offers memory", () => {
    const hybrid = parseMountinfo(
      ["35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory", "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw"].join("\n"),
    );
    assert.deepEqual(pickMemoryHierarchy(hybrid, () => "hugetlb"), { version: 1, mountPoint: "/sys/fs/cgroup/memory", mountRoot: "/" });
    const v2 = parseMountinfo("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw");
    assert.deepEqual(pickMemoryHierarchy(v2, () => "cpuset cpu io memory pids\n"), { version: 2, mountPoint: "/sys/fs/cgroup", mountRoot: "/" });
    assert.equal(pickMemoryHierarchy(v2, () => "cpu pids\n"), undefined, "v2 without the memory controller");
    assert.equal(pickMemoryHierarchy([], () => undefined), undefined);
  });

  it("reads v1 and v2 accounting hierarchically", () => {
    const v1 = accountingOf(1, { stat: "rss 10\ncache 20\ntotal_rss 100\ntotal_cache 200\ntotal_mapped_file 30\ntotal_shmem 5\ntotal_swap 0\n", usage: "4096\n" });
    assert.deepEqual(v1, { version: 1, usage: 4096, anon: 100, file: 200, fileMapped: 30, shmem: 5, swap: 0 });
    const v2 = accountingOf(2, { stat: "anon 7\nfile 8\nfile_mapped 3\nshmem 1\n", usage: "9000\n", swap: "0\n" });
    assert.deepEqual(v2, { version: 2, usage: 9000, anon: 7, file: 8, fileMapped: 3, shmem: 1, swap: 0 });
    assert.equal(accountingOf(2, {}).usage, null);
    assert.equal(parseMemoryStat("anon 1\nbad line\nfile 2").get("file"), 2);
  });

  it("tells ancestors by whole path components", () => {
    assert.ok(isAncestorPath("/", "/a/b"));
    assert.ok(isAncestorPath("/a", "/a/b"));
    assert.ok(isAncestorPath("/a", "/a"));
    assert.ok(!isAncestorPath("/a", "/ab"));
    assert.ok(!isAncestorPath("/a/b", "/a"));
  });

  it("derives the systemd unit or container from a cgroup path", () => {
    const hex = "0123456789abcdef".repeat(4);
    const cases: [string, string, string][] = [
      ["/system.slice/nginx.service", "service", "nginx.service"],
      ["/user.slice/user-1000.slice/session-3.scope", "scope", "session-3.scope"],
      ["/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1234.scope", "scope", "app-firefox-1234.scope"],
      ["/user.slice/user-1000.slice", "slice", "user-1000.slice"],
      [`/system.slice/docker-${hex}.scope`, "docker", "docker:0123456789ab"],
      [`/docker/${hex}`, "docker", "docker:0123456789ab"],
      [`/machine.slice/libpod-${hex}.scope/container`, "podman", "podman:0123456789ab"],
      [`/system.slice/cri-containerd-${hex}.scope`, "containerd", "containerd:0123456789ab"],
      [`/system.slice/crio-${hex}.scope`, "crio", "crio:0123456789ab"],
      [`/kubepods/burstable/pod8e1b4e5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b/${hex}`, "pod", "pod:8e1b4e5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"],
      [
        `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8e1b4e5a_1c2d_4e5f_8a9b_0c1d2e3f4a5b.slice/cri-containerd-${hex}.scope`,
        "pod",
        "pod:8e1b4e5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
      ],
      ["/lxc.payload.web1", "lxc", "lxc:web1"],
      ["/lxc/web2", "lxc", "lxc:web2"],
      ["/machine.slice/machine-my\\x2dvm.scope", "machine", "machine:my-vm"],
    ];
    for (const [p, kind, name] of cases) {
      assert.equal(unitOfPath(p)?.name, name, p);
      assert.equal(unitOfPath(p)?.kind, kind, p);
    }
    assert.equal(unitOfPath(`/kubepods/burstable/pod8e1b4e5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b/${hex}`)?.container, "0123456789ab");
    assert.equal(unitOfPath("/system.slice/libpod-conmon-" + hex + ".scope")?.kind, "scope", "conmon is not the container");
    assert.equal(unitOfPath("/process_api/13923d55785c31dc9dd90b7acb45c86f"), undefined);
  });

  it("takes the first path that names a unit, else the first non-root path, else /", () => {
    assert.deepEqual(unitOf(["/", "/system.slice/sshd.service", "/"]), { kind: "service", name: "sshd.service" });
    assert.deepEqual(unitOf(["/process_api/x", "/", "/"]), { kind: "cgroup", name: "/process_api/x" });
    assert.deepEqual(unitOf(["/", undefined, "/"]), { kind: "root", name: "/" });
    assert.deepEqual(unitOf([]), { kind: "root", name: "/" });
  });
});

// ---------------------------------------------------------------------------
// the fixture machine

const HEAP = 0x5555_5600_0000;
const LIBC = 0x7f00_0000_0000;
const SHM = 0x7f10_0000_0000;
const PRIV100 = 0x1000; // 4 pages
const PRIV_KIDS = 0x1100; // 101 -> 0x1100, 102 -> 0x1101
const PRIV200 = 0x1200; // 2 pages
const COW = 0x2000; // 6 pages
const LIBC_PFN = 0x3000;
const SHM_PFN = 0x4000;
const ZERO_PFN = 0x3b34;

const APP = "/system.slice/app.service";
const DOCKER = `/system.slice/docker-${DOCKER_ID}.scope`;

interface Machine {
  tree: FixtureTree;
  procfs: ProcFs;
  passwd: string;
  ino: { root: number; app: number; docker: number; slice: number };
}

function buildMachine(): Machine {
  const t = FixtureTree.create();
  // cgroup v2 at /sys/fs/cgroup, with the memory controller.
  t.text("self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
  t.sys("fs/cgroup/cgroup.controllers", "cpu io memory pids\n");
  t.sys("fs/cgroup/memory.stat", "anon 0\n");
  t.sys(`fs/cgroup${APP}/memory.current`, "1048576\n");
  t.sys(`fs/cgroup${APP}/memory.stat`, `anon ${12 * P}\nfile ${P}\nfile_mapped ${P}\nshmem ${P}\n`);
  t.sys(`fs/cgroup${DOCKER}/memory.current`, "524288\n");
  t.sys(`fs/cgroup${DOCKER}/memory.stat`, `anon ${2 * P}\nfile 0\nfile_mapped 0\nshmem 0\n`);
  t.write();
  const inoOf = (rel: string): number => Number(fs.statSync(path.join(t.sysRoot, "fs/cgroup", rel), { bigint: true }).ino);
  const ino = { root: inoOf(""), app: inoOf(APP), docker: inoOf(DOCKER), slice: inoOf("/system.slice") };

  const tree = [100, 101, 102];
  for (const pid of tree) {
    const p = t.process(pid, { name: pid === 100 ? "app" : "worker", uid: pid === 102 ? 1001 : 1000, ppid: pid === 100 ? 1 : 100, cgroup: APP });
    p.map({ start: HEAP, pages: 16, name: "[heap]" });
    p.fill(HEAP, 6, (i) => pte({ pfn: COW + i }));
    if (pid === 100) p.fill(HEAP + 8 * P, 4, (i) => anonPte(PRIV100 + i));
    else p.set(HEAP + 8 * P, anonPte(PRIV_KIDS + (pid - 101)));
    p.map({ start: LIBC, pages: 1, perms: "r-xp", dev: "fd:01", inode: 77, name: "/usr/lib/libc.so.6" });
    p.set(LIBC, pte({ pfn: LIBC_PFN, file: true }));
  }
  const d = t.process(200, { name: "dockerd-app", uid: 1001, ppid: 1, cgroup: DOCKER });
  d.map({ start: HEAP, pages: 8, name: "[heap]" });
  d.fill(HEAP, 2, (i) => anonPte(PRIV200 + i));
  d.set(HEAP + 4 * P, pte({ pfn: ZERO_PFN }));
  d.map({ start: LIBC, pages: 1, perms: "r-xp", dev: "fd:01", inode: 77, name: "/usr/lib/libc.so.6" });
  d.set(LIBC, pte({ pfn: LIBC_PFN, file: true }));
  // One shmem page mapped at two addresses by the same process: count 2, both mappings its own.
  d.map({ start: SHM, pages: 1, perms: "rw-s", dev: "00:01", inode: 9, name: "/dev/shm/seg" });
  d.map({ start: SHM + 2 * P, pages: 1, perms: "rw-s", dev: "00:01", inode: 9, name: "/dev/shm/seg" });
  d.set(SHM, pte({ pfn: SHM_PFN, file: true }));
  d.set(SHM + 2 * P, pte({ pfn: SHM_PFN, file: true }));
  t.kernelThread(2, "kthreadd");

  t.pages(PRIV100, 4, () => anonPage(1, ino.app));
  t.pages(PRIV_KIDS, 2, () => anonPage(1, ino.app));
  t.pages(COW, 6, () => anonPage(3, ino.app));
  t.page(LIBC_PFN, filePage(4, ino.root));
  t.pages(PRIV200, 2, () => anonPage(1, ino.docker));
  t.page(SHM_PFN, shmemPage(2, ino.app));
  t.page(ZERO_PFN, zeroPage());
  const passwd = t.writePasswd();
  return { tree: t, procfs: t.procfs({ withSys: true }), passwd, ino };
}

function row(report: GroupsReport, key: string): GroupRow {
  const r = report.groups.find((g) => g.key === key);
  assert.ok(r, `group ${key} in ${report.groups.map((g) => g.key).join(", ")}`);
  return r;
}

/** Check the figures of one group, in pages (PSS may be fractional). */
function expectPages(r: GroupRow, want: Partial<Record<"rss" | "pss" | "uss" | "groupUss" | "groupUssAnon" | "groupUssFile" | "groupUssShmem" | "sharedOutside", number>>): void {
  for (const [k, pages] of Object.entries(want)) {
    const got = r[k as keyof typeof want];
    // PSS is the kernel's fixed point: each shared page's share is truncated to 1/4096 byte.
    const slack = k === "pss" ? (want.rss ?? 0) / 4096 : 1e-6;
    assert.ok(got !== null && Math.abs(got - pages * P) <= slack, `${r.key} ${k}: expected ${pages} pages, got ${got === null ? null : got / P}`);
  }
}

describe("groups on a fixture machine", () => {
  let m: Machine;
  let scan: Scan;
  let exact: Scan;

  before(async () => {
    m = buildMachine();
    const users = { passwdFile: m.passwd };
    scan = await scanSystem(m.procfs, users);
    exact = await scanSystem(m.procfs, { ...users, exact: true, cgroups: true });
  });
  after(() => m.tree.cleanup());

  it("settled pages are the USS not explained by looked-up pages of count 1", () => {
    const p100 = scan.processes.find((p) => p.info.pid === 100)!;
    assert.ok(scan.trustedExclusive, "the default scan settles exclusive anonymous pages");
    assert.equal(settledBytes(scan, p100), 4 * P);
    // The same from RSS: settled pages are all of count 1, so RSS minus looked-up RSS gives them too.
    let lookedUp = 0;
    forEachProcessRun(scan, p100, (cols, from, to) => {
      for (let i = from; i < to; i++) lookedUp += cols.len[i]!;
    });
    assert.equal(sumRows(p100.usage).rss - lookedUp * P, 4 * P);
    const e100 = exact.processes.find((p) => p.info.pid === 100)!;
    assert.equal(settledBytes(exact, e100), 0, "an exact scan settles nothing");
  });

  it("--by tree: the COW pages are in the group's USS and in no member's", () => {
    for (const s of [scan, exact]) {
      const r = buildGroupsReport(s, { by: "tree" });
      const t = row(r, "tree:100");
      assert.deepEqual(t.pids, [100, 101, 102]);
      assert.equal(t.label, "100 app");
      expectPages(t, { rss: 27, pss: 12.75, uss: 6, groupUss: 12, groupUssAnon: 12, groupUssFile: 0, groupUssShmem: 0, sharedOutside: 1 });
      const d = row(r, "tree:200");
      // The shmem page mapped twice by pid 200 alone: not in its USS (count 2), but in its group's.
      expectPages(d, { rss: 5, pss: 3.25, uss: 2, groupUss: 3, groupUssAnon: 2, groupUssShmem: 1, sharedOutside: 1 });
      assert.equal(r.totals.distinct, 16 * P);
      assert.equal(r.totals.privateToOneGroup, 15 * P);
      assert.equal(r.totals.sharedAcrossGroups, 1 * P, "only libc is shared across the trees");
      assert.ok(!r.groups.some((g) => g.pids.includes(2)), "kernel threads are in no group");
    }
  });

  it("--by user splits the tree: COW pages become shared outside for both users", () => {
    const r = buildGroupsReport(scan, { by: "user" });
    expectPages(row(r, "alice"), { uss: 5, groupUss: 5, sharedOutside: 7 });
    expectPages(row(r, "bob"), { uss: 3, groupUss: 4, sharedOutside: 7 });
    assert.deepEqual(row(r, "bob").pids, [102, 200]);
    assert.equal(r.totals.sharedAcrossGroups, 7 * P);
  });

  it("--by command, --by cgroup and --by unit", () => {
    const byCmd = buildGroupsReport(scan, { by: "command" });
    assert.deepEqual(byCmd.groups.map((g) => g.key).sort(), ["app", "dockerd-app", "worker"]);
    expectPages(row(byCmd, "worker"), { groupUss: 2, sharedOutside: 7 });

    const cgroups = MemoryCgroups.find(m.procfs);
    assert.ok(cgroups, "the fixture's v2 hierarchy is found from mountinfo");
    assert.equal(cgroups.version, 2);
    const byCg = buildGroupsReport(scan, { by: "cgroup", cgroups });
    const app = row(byCg, APP);
    expectPages(app, { groupUss: 12 });
    assert.equal(app.cgroup?.inode, m.ino.app);
    assert.deepEqual(app.cgroup?.accounting, { version: 2, usage: 1048576, anon: 12 * P, file: P, fileMapped: P, shmem: P, swap: null });

    const byUnit = buildGroupsReport(scan, { by: "unit" });
    assert.deepEqual(byUnit.groups.map((g) => g.key).sort(), ["app.service", "docker:3f2a9c1d0b7e"]);
    assert.equal(row(byUnit, "docker:3f2a9c1d0b7e").unit?.kind, "docker");
    // Paths given per pid (memory, systemd, v2) take precedence over the memory cgroup alone.
    const paths = new Map([[200, ["/", "/system.slice/other.service"]]]);
    assert.ok(buildGroupsReport(scan, { by: "unit", cgroupPaths: paths }).groups.some((g) => g.key === "other.service"));
  });

  it("--pids: an ad hoc group against everything else", () => {
    const r = buildGroupsReport(scan, { pids: [100, 999] });
    assert.equal(r.by, "pids");
    const g = row(r, "pids");
    assert.deepEqual(g.pids, [100]);
    expectPages(g, { uss: 4, groupUss: 4, sharedOutside: 7 });
    const rest = row(r, "(rest)");
    assert.ok(rest.rest);
    assert.deepEqual(rest.pids, [101, 102, 200]);
    expectPages(rest, { groupUss: 5, sharedOutside: 7 });
    assert.equal(r.groups[r.groups.length - 1]!.key, "(rest)", "the rest row stays last");
    assert.ok(r.notes.some((n) => n.includes("999")), "a pid not found is noted");
  });

  it("--root-pid: nested trees overlap and are measured independently", () => {
    const { groups } = treeGroups(scan, [100, 101]);
    assert.deepEqual(
      groups.map((g) => [g.key, g.members.map((p) => p.info.pid)]),
      [
        ["tree:100", [100, 101, 102]],
        ["tree:101", [101]],
        ["(rest)", [200]],
      ],
    );
    const { figures } = measureGroups(scan, groups);
    assert.equal(figures[0]!.groupUss, 12 * P);
    assert.equal(figures[1]!.groupUss, 1 * P, "101 alone: its private page");
    assert.equal(figures[1]!.sharedOutside, 7 * P);
    const r = buildGroupsReport(scan, { by: "tree", rootPids: [100, 101] });
    assert.equal(r.totals.privateToOneGroup, null, "overlapping groups: no partition totals");
  });

  it("sorts by size descending, by name ascending, rest last", () => {
    const r = buildGroupsReport(scan, { by: "command" });
    assert.deepEqual(sortGroups(r.groups, "group-uss").map((g) => g.key), ["app", "dockerd-app", "worker"]);
    assert.deepEqual(sortGroups(r.groups, "name").map((g) => g.key), ["app", "dockerd-app", "worker"]);
    assert.deepEqual(sortGroups(r.groups, "name", true).map((g) => g.key), ["worker", "dockerd-app", "app"]);
  });

  it("charges: pages by the cgroup that pays, and pages one cgroup maps that another pays for", () => {
    const cgroups = MemoryCgroups.find(m.procfs)!;
    assert.equal(cgroups.pathOf(m.ino.app), APP);
    assert.equal(cgroups.pathOf(m.ino.root), "/");
    const c = buildCharges(exact, cgroups);
    assert.ok(c.available);
    assert.deepEqual(c.notes, []);
    const byPath = (p: string | null) => c.cgroups.find((r) => r.path === p)!;
    const app = byPath(APP);
    assert.equal(app.processes, 3);
    assert.equal(app.charged, 13 * P, "4 + 1 + 1 private, 6 COW, 1 shmem");
    assert.equal(app.chargedShmem, 1 * P);
    assert.equal(app.mappedByOwn, 12 * P);
    assert.equal(app.mappedOnlyByOthers, 1 * P, "the shmem page: app.service pays, only the container maps it");
    assert.equal(app.chargedElsewhere, 1 * P, "libc, charged to /");
    assert.equal(app.unknownCharge, 0);
    assert.equal(app.accounting?.usage, 1048576);
    const docker = byPath(DOCKER);
    assert.equal(docker.charged, 2 * P);
    assert.equal(docker.chargedElsewhere, 2 * P, "libc and the shmem page");
    const root = byPath("/");
    assert.equal(root.processes, 0);
    assert.equal(root.charged, 1 * P);
    assert.equal(root.mappedOnlyByOthers, 1 * P);
    assert.equal(root.chargedSubtree, 16 * P, "everything is charged somewhere below /");
    const flow = (from: string, to: string) => c.flows.find((f) => f.mappedBy === from && f.chargedTo === to);
    assert.deepEqual(flow(DOCKER, APP), { mappedBy: DOCKER, mappedByInode: m.ino.docker, chargedTo: APP, chargedToInode: m.ino.app, bytes: P, relation: "other" });
    assert.equal(flow(DOCKER, "/")?.relation, "ancestor");
    assert.equal(flow(APP, "/")?.bytes, P);
    assert.equal(c.flows.length, 3);
  });

  it("charges from a default scan: settled pages have no charge and are said to be unknown", async () => {
    assert.equal(buildCharges(scan, undefined).available, false, "no kpagecgroup read");
    const s = await scanSystem(m.procfs, { passwdFile: m.passwd, cgroups: true });
    const c = buildCharges(s, MemoryCgroups.find(m.procfs));
    assert.ok(c.notes.some((n) => n.includes("settled")));
    const app = c.cgroups.find((r) => r.path === APP)!;
    assert.equal(app.unknownCharge, 6 * P, "4 + 1 + 1 private pages settled from pagemap bits");
    assert.equal(app.charged, 7 * P, "the 6 COW pages and the shmem page were looked up");
  });

  it("charges without the hierarchy: by inode, relations unknown", () => {
    const c = buildCharges(exact, undefined);
    assert.ok(c.available);
    assert.ok(c.notes.some((n) => n.includes("not visible")));
    const app = c.cgroups.find((r) => r.inode === m.ino.app)!;
    assert.equal(app.path, null);
    assert.equal(app.charged, 13 * P);
    assert.ok(c.flows.every((f) => f.relation === "unknown"));
  });

  it("distinct memory counts each page once", () => {
    assert.equal(distinctMappedOf(scan)?.bytes, 16 * P);
    assert.equal(distinctMappedOf(exact)?.bytes, 16 * P);
  });

  it("renders a table with a total row and the charges", () => {
    const cgroups = MemoryCgroups.find(m.procfs)!;
    const r = buildGroupsReport(exact, { by: "cgroup", cgroups, charges: true });
    const text = renderGroupsTable(r, "bytes");
    assert.match(text, /GROUP-USS/);
    assert.match(text, /TOTAL/);
    assert.match(text, new RegExp(`${12 * P}\\s+${1 * P}\\s+0\\s+${1048576}\\s+${APP.replaceAll(".", "\\.")}`), text);
    assert.match(text, /Pages one cgroup's processes map but another cgroup pays for/);
    assert.match(text, /other\s+\/system\.slice\/docker-/);
  });

  it("the CLI on the --root tree: --json, --charges, usage errors", async () => {
    const cli = async (...args: string[]) => {
      const c = captureIo();
      const code = await run(["--root", m.tree.root, "--sys-root", m.tree.sysRoot, "--passwd", m.passwd, "groups", ...args], c.io);
      return { code, out: c.out(), err: c.err() };
    };
    const j = await cli("--by", "tree", "--json");
    assert.equal(j.code, 0, j.err);
    assert.equal(j.err, "");
    const doc = JSON.parse(j.out) as GroupsReport;
    assert.equal(doc.by, "tree");
    assert.equal(doc.groups[0]!.key, "tree:100", "largest PSS first");
    assert.equal(doc.groups[0]!.groupUss, 12 * P);
    assert.equal(doc.charges, null);

    const c = await cli("--charges", "--json");
    assert.equal(c.code, 0, c.err);
    const cd = JSON.parse(c.out) as GroupsReport;
    assert.equal(cd.by, "cgroup", "--charges groups by cgroup by default");
    assert.equal(cd.charges?.cgroups.find((r) => r.path === APP)?.charged, 13 * P);

    const t = await cli("--root-pid", "100");
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /TREE/);
    assert.match(t.out, /100 app/);
    assert.match(t.out, /everything else/);

    assert.equal((await cli("--pids", "100", "--by", "user")).code, 2);
    assert.equal((await cli("--root-pid", "100", "--by", "user")).code, 2);
    assert.equal((await cli("--by", "nonsense")).code, 2);
    assert.equal((await cli("--pids", "x")).code, 2);
    assert.equal((await cli("--pids", "4242")).code, 4, "no such process");
  });
});
