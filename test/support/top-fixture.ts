/**
 * A fixture machine for `pagelens top`: the sample system plus a process
 * with a distinctive name (the one the tests filter for), one whose command
 * line carries terminal escape sequences, and /proc/PID/stat files (top keys
 * processes by pid and start time).
 */
import { anonPage, anonPte, PAGE_SIZE } from "./pagemap-builder.js";
import { sampleSystem, type FixtureOptions, type FixtureTree } from "./fixture-tree.js";

export const TOP_MARKER = { pid: 900, name: "pltopmarker", cmdline: ["/opt/pltop-marker", "--serve"], cgroup: "/system.slice/pltop-marker.service", pfn: 0x7000, pages: 40 } as const;
/** A command line that would clear the screen and set the window title if printed raw. */
export const TOP_HOSTILE = { pid: 901, cmdline: ["/bin/evil\x1b[2J\x1b]0;pwned\x07"] } as const;

/** A stat line as fs/proc/array.c prints it: fields 3..52 after "(comm)", start time in field 22. */
export function statLine(pid: number, comm: string, startTime: number, ppid = 1): string {
  const rest = new Array<string>(50).fill("0");
  rest[0] = "S";
  rest[1] = String(ppid);
  rest[22 - 3] = String(startTime);
  return `${pid} (${comm}) ${rest.join(" ")}\n`;
}

/** Write (or rewrite) every process's stat file with start time `base + pid`. */
export function writeStats(t: FixtureTree, base = 1000): void {
  for (const p of t.processes.values()) t.text(`${p.pid}/stat`, statLine(p.pid, p.name, base + p.pid));
}

export function topSystem(options: FixtureOptions = {}): FixtureTree {
  const t = sampleSystem(options);
  const m = TOP_MARKER;
  const p = t.process(m.pid, { name: m.name, uid: 1001, cmdline: m.cmdline, cgroup: m.cgroup });
  const heap = p.map({
    start: 0x5555_6000_0000,
    pages: m.pages,
    name: "[heap]",
    smaps: { Rss: (m.pages * PAGE_SIZE) / 1024, Pss: (m.pages * PAGE_SIZE) / 1024, Private_Dirty: (m.pages * PAGE_SIZE) / 1024, Anonymous: (m.pages * PAGE_SIZE) / 1024 },
  });
  p.fill(heap.start, m.pages, (i) => anonPte(m.pfn + i));
  t.pages(m.pfn, m.pages, () => anonPage(1));
  const h = t.process(TOP_HOSTILE.pid, { name: "evil", uid: 1000, cmdline: TOP_HOSTILE.cmdline });
  const hh = h.map({ start: 0x5555_6100_0000, pages: 1, name: "[heap]", smaps: { Rss: 4, Pss: 4, Private_Dirty: 4, Anonymous: 4 } });
  h.set(hh.start, anonPte(0x7100));
  t.page(0x7100, anonPage(1));
  writeStats(t);
  t.write();
  return t;
}
