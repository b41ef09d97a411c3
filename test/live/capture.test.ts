/**
 * Live: a capture answers as the machine did. Processes with known memory
 * (memscenario workload, cow, shared3) are SIGSTOPped; a capture and the
 * live reports are taken back to back; the reports --from the capture must
 * equal the live ones for those processes: ps rows, maps rows, pages of
 * their own memory, libs rows of their mappings and the groups --pids
 * group. Other processes keep running, and a library page's PSS changes
 * whenever any process maps or unmaps it: see clean() for what is compared;
 * a mismatch is retried (a fresh pair of readings) a few times before it
 * fails. Skipped unless root.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { liveSkipReason, makeTempDir, runCli, startScenario, type Scenario } from "../support/scenario.js";

const skip = liveSkipReason();
let scen: Scenario[] = [];
let dir = "";
let pids: number[] = [];

function cli(args: string[]): unknown {
  const r = runCli(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `pagelens ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

/**
 * What must match exactly. Left out: the scan's clock, and the PSS of
 * file pages (libc, ld.so...), which every other process on the machine
 * changes by mapping or unmapping those files between the live run and the
 * capture (seen on the shared test VM: libc's text PSS 4961.7 vs 4954.9
 * bytes across four retries). Anonymous and shmem PSS, RSS, USS, swap, page
 * counts and flags are the scenario's own and compared exactly; the
 * "(rest)" group of groups --pids is the rest of the machine and left out.
 */
function clean(x: unknown): unknown {
  return JSON.parse(
    JSON.stringify(x, (k, v: unknown) => {
      if (k === "takenAt") return undefined;
      if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
      const o = { ...(v as Record<string, unknown>) };
      if (o["key"] === "(rest)") return undefined;
      if (typeof o["pssFile"] === "number" && typeof o["pss"] === "number") {
        // Rounded to a thousandth of a byte: the difference carries the float noise of the file PSS left out.
        o["pss"] = Math.round(((o["pss"] as number) - (o["pssFile"] as number)) * 1000) / 1000;
        delete o["pssFile"];
      } else if ((typeof o["name"] === "string" && (o["name"] as string).startsWith("/")) || typeof o["rest"] === "boolean") delete o["pss"]; // a file's row, a group's total
      return o;
    }),
  );
}

/** Run `views` live and from a fresh capture (`capture ...options`) until they agree (at most `tries` times); return the last pair. */
function compare(views: (from: string[]) => unknown, options: string[] = [], tries = 4): { live: unknown; cap: unknown; agreed: boolean } {
  let live: unknown;
  let cap: unknown;
  for (let i = 0; i < tries; i++) {
    const file = path.join(dir, `c${i}.tar.gz`);
    const r = runCli(["capture", ...options, "-o", file], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    live = clean(views([]));
    cap = clean(views(["--from", file]));
    if (JSON.stringify(live) === JSON.stringify(cap)) return { live, cap, agreed: true };
  }
  return { live, cap, agreed: false };
}

describe("captures of live processes", { skip }, () => {
  before(async () => {
    dir = makeTempDir("pagelens-capture-live-");
    scen = [await startScenario("workload", [3, 16, 32]), await startScenario("cow", [256, 64]), await startScenario("shared3", [128])];
    for (const s of scen) s.freeze();
    pids = scen.flatMap((s) => s.allPids).sort((a, b) => a - b);
  });
  after(async () => {
    for (const s of scen) await s.stop();
  });

  it("ps --pid: the same rows, every number", () => {
    const r = compare((from) => (cli([...from, "ps", "--json", "--pid", pids.join(",")]) as { processes: unknown[] }).processes);
    assert.deepEqual(r.cap, r.live);
  });

  it("capture (the default --level all): maps and pages of each process: the same", () => {
    const cow = scen[1]!;
    const addr = cow.addr("addr");
    const end = addr + cow.num("pages") * 4096;
    const r = compare(
      (from) => ({
        maps: pids.map((p) => (cli([...from, "maps", String(p), "--json"]) as { mappings: unknown[] }).mappings),
        pages: cli([...from, "pages", String(cow.pid), "--json", "--addr", `${addr.toString(16)}-${end.toString(16)}`]),
      }),
      [],
    );
    assert.deepEqual(r.cap, r.live);
  });

  it("capture --level pages: pages, ps --exact and flags --pid the same; maps refused, naming --level all", () => {
    const cow = scen[1]!;
    const addr = cow.addr("addr");
    const pages = cow.num("pages");
    // Only the scenario's own pages: a library page's flags (referenced, active) change with every other process.
    const r = compare((from) => ({
      pages: cli([...from, "pages", String(cow.pid), "--json", "--addr", `${addr.toString(16)}-${(addr + pages * 4096).toString(16)}`]),
      exact: (cli([...from, "ps", "--json", "--exact", "--pid", pids.join(",")]) as { processes: unknown[] }).processes,
      flags: cli([...from, "flags", "--pid", String(cow.pid), "--addr", `0x${(addr / 4096).toString(16)}+${pages}`, "--json"]),
    }), ["--level", "pages"]);
    assert.deepEqual(r.cap, r.live);
    assert.ok(((r.live as { flags: { rows: unknown[] } }).flags.rows.length) > 0, "flags --pid --addr counted the scenario's pages");
    // c0.tar.gz: the first capture compare() just took, at --level pages.
    const refused = runCli(["--from", path.join(dir, "c0.tar.gz"), "maps", String(cow.pid)], { timeoutMs: 120_000 });
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /did not record \/proc\/\d+\/smaps \(pagelens capture records it at its default --level all\)/);
  });

  it("a capture at --level ps: pages of private memory refused, naming --level pages", () => {
    // The cow parent's private pages are exclusive: a scan settles them from pagemap alone, so the capture has no kpage words for them.
    const file = path.join(dir, "lean.tar.gz");
    const r = runCli(["capture", "--level", "ps", "-o", file], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    const refused = runCli(["--from", file, "pages", String(scen[0]!.pid)], { timeoutMs: 120_000 });
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /did not record \/proc\/kpage\w+ words .* \(pagelens capture --level pages records it/);
  });

  it("libs rows of these processes, groups --pids, shares --pid: the same", () => {
    const r = compare((from) => {
      const libs = cli([...from, "libs", "--json", "--all"]) as { libraries: { name: string; processes: { pid: number }[] }[] };
      return {
        libs: libs.libraries.map((l) => ({ name: l.name, rows: l.processes.filter((p) => pids.includes(p.pid)) })).filter((l) => l.rows.length > 0),
        // Only the parts about these processes: totals and indexes cover the whole, changing, machine.
        groups: (cli([...from, "groups", "--pids", pids.join(","), "--json"]) as { groups: { rest: boolean }[] }).groups.filter((g) => !g.rest),
        shares: (({ pairs, groups }: { pairs: unknown; groups: unknown }) => ({ pairs, groups }))(cli([...from, "shares", "--pid", pids.join(","), "--json"]) as { pairs: unknown; groups: unknown }),
      };
    });
    assert.deepEqual(r.cap, r.live);
  });
});
