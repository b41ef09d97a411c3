/**
 * top's pure parts: deltas keyed by pid and start time, sort and filter,
 * scrolling, the machine totals from meminfo, the keys, and the frame
 * (header statements, safeText on names).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseStatStartTime } from "../../src/parse/stat.js";
import { advance, arrange, clampScroll, deltaKey, machineTotals, matchesFilter, type SourceRow, type TopRow } from "../../src/cli/top/model.js";
import { handleKey, INITIAL_UI, type UiState } from "../../src/cli/top/keys.js";
import { formatDelta, renderFrame, type FrameInput } from "../../src/cli/top/frame.js";
import { statLine } from "../support/top-fixture.js";

const K = 1024;

function proc(pid: number, start: string, pss: number, o: Partial<SourceRow> = {}): SourceRow {
  return { key: `${pid}@${start}`, name: `cmd${pid}`, alias: `c${pid}`, pid, user: "alice", count: null, measured: true, rss: pss * 2, pss, uss: pss / 2, swap: 0, ...o };
}

describe("parseStatStartTime", () => {
  it("reads field 22 after the last ')', whatever the command name holds", () => {
    assert.equal(parseStatStartTime(statLine(42, "a) b (c) 1 2 3", 987654)), 987654);
    assert.equal(parseStatStartTime(statLine(7, "plain", 5)), 5);
  });
  it("has no start time for a line without one (the process is then known by its pid alone)", () => {
    assert.equal(parseStatStartTime("12 (x) S 1 2"), undefined);
    assert.equal(parseStatStartTime("no parenthesis"), undefined);
  });
});

describe("advance: deltas over refreshes", () => {
  it("first refresh: every delta 0, nothing new or gone", () => {
    const a = advance(undefined, [proc(1, "10", 100 * K), proc(2, "20", 50 * K)]);
    assert.equal(a.added, 0);
    assert.equal(a.gone, 0);
    for (const r of a.rows) {
      assert.equal(r.sincePrev.pss, 0);
      assert.equal(r.sinceStart.pss, 0);
      assert.equal(r.isNew, false);
    }
  });

  it("since the last refresh and since start are measured from different refreshes", () => {
    const a1 = advance(undefined, [proc(1, "10", 100 * K)]);
    const a2 = advance(a1.history, [proc(1, "10", 150 * K)]);
    const a3 = advance(a2.history, [proc(1, "10", 130 * K)]);
    const r = a3.rows[0]!;
    assert.equal(r.sincePrev.pss, -20 * K);
    assert.equal(r.sinceStart.pss, 30 * K);
    assert.equal(r.sinceStart.rss, 60 * K);
    assert.equal(r.sinceStart.uss, 15 * K);
    assert.equal(a3.history.refreshes, 3);
  });

  it("a reused pid (same pid, another start time) is a new process, and the old one is gone", () => {
    const a1 = advance(undefined, [proc(7, "100", 500 * K)]);
    const a2 = advance(a1.history, [proc(7, "999", 20 * K)]);
    const r = a2.rows[0]!;
    assert.equal(r.isNew, true);
    assert.equal(a2.added, 1);
    assert.equal(a2.gone, 1);
    // Counted from zero: not "shrank by 480K".
    assert.equal(r.sincePrev.pss, 20 * K);
    assert.equal(r.sinceStart.pss, 20 * K);
  });

  it("a process that appeared after start counts from zero; one that exited is gone, not an error", () => {
    const a1 = advance(undefined, [proc(1, "1", 10 * K), proc(2, "2", 10 * K)]);
    const a2 = advance(a1.history, [proc(1, "1", 10 * K), proc(3, "3", 8 * K)]);
    assert.equal(a2.gone, 1);
    assert.equal(a2.added, 1);
    const p3 = a2.rows.find((r) => r.pid === 3)!;
    assert.equal(p3.sinceStart.pss, 8 * K);
    const a3 = advance(a2.history, [proc(1, "1", 10 * K), proc(3, "3", 9 * K)]);
    assert.equal(a3.rows.find((r) => r.pid === 3)!.isNew, false);
    assert.equal(a3.rows.find((r) => r.pid === 3)!.sincePrev.pss, 1 * K);
    assert.equal(a3.rows.find((r) => r.pid === 3)!.sinceStart.pss, 9 * K);
  });

  it("an unmeasured row has no deltas, and does not make a later measurement look like growth from its zeros", () => {
    const a1 = advance(undefined, [proc(5, "5", 0, { measured: false })]);
    assert.equal(a1.rows[0]!.sincePrev.pss, 0);
    const a2 = advance(a1.history, [proc(5, "5", 40 * K)]);
    assert.equal(a2.rows[0]!.isNew, true, "no measured values before: new to the deltas");
  });

  it("does not change the history it was given", () => {
    const a1 = advance(undefined, [proc(1, "1", 10 * K)]);
    const before = [...a1.history.prev.entries()];
    advance(a1.history, [proc(1, "1", 99 * K)]);
    assert.deepEqual([...a1.history.prev.entries()], before);
  });
});

function rows(...rs: SourceRow[]): TopRow[] {
  return [...advance(undefined, rs).rows];
}

describe("arrange: sort and filter", () => {
  const rs = rows(
    proc(1, "1", 30 * K, { name: "/usr/bin/zsh", alias: "zsh" }),
    proc(2, "2", 90 * K, { name: "postgres: writer", alias: "postgres", swap: 5 }),
    proc(3, "3", 60 * K, { name: "Nginx worker", alias: "nginx", swap: 50 }),
    proc(4, "4", 0, { name: "other user's", alias: "secret", measured: false }),
  );
  const pids = (r: TopRow[]): (number | null)[] => r.map((x) => x.pid);

  it("sizes largest first; reverse flips; unmeasured rows stay last", () => {
    assert.deepEqual(pids(arrange(rs, { sort: "pss", reverse: false, filter: "" })), [2, 3, 1, 4]);
    assert.deepEqual(pids(arrange(rs, { sort: "pss", reverse: true, filter: "" })), [1, 3, 2, 4]);
    assert.deepEqual(pids(arrange(rs, { sort: "swap", reverse: false, filter: "" })), [3, 2, 1, 4]);
  });
  it("names A to Z", () => {
    assert.deepEqual(pids(arrange(rs, { sort: "name", reverse: false, filter: "" })), [1, 3, 2, 4]);
  });
  it("filters on name, comm or an exact pid, case-insensitively, as plain text", () => {
    assert.deepEqual(pids(arrange(rs, { sort: "pss", reverse: false, filter: "NGINX" })), [3]);
    assert.deepEqual(pids(arrange(rs, { sort: "pss", reverse: false, filter: "zsh" })), [1]);
    assert.deepEqual(pids(arrange(rs, { sort: "pss", reverse: false, filter: "2" })), [2]);
    assert.equal(matchesFilter(rs[0]!, ".*"), false, "not a regular expression");
  });
  it("the delta column follows the sort key, PSS for name", () => {
    assert.equal(deltaKey("uss"), "uss");
    assert.equal(deltaKey("name"), "pss");
  });
});

describe("clampScroll", () => {
  it("keeps the page full and never goes negative", () => {
    assert.equal(clampScroll(0, 100, 20), 0);
    assert.equal(clampScroll(95, 100, 20), 80);
    assert.equal(clampScroll(Number.MAX_SAFE_INTEGER, 100, 20), 80);
    assert.equal(clampScroll(5, 10, 20), 0);
  });
});

describe("machineTotals", () => {
  it("used as free(1) counts it, page cache, swap used", () => {
    const GiB = 1024 ** 3;
    const m = machineTotals({ MemTotal: 16 * GiB, MemFree: 4 * GiB, Buffers: 1 * GiB, Cached: 3 * GiB, SReclaimable: 1 * GiB, Shmem: 0.5 * GiB, MemAvailable: 8 * GiB, SwapTotal: 2 * GiB, SwapFree: 1.5 * GiB });
    assert.equal(m.used, 7 * GiB);
    assert.equal(m.pageCache, 3 * GiB);
    assert.equal(m.swapUsed, 0.5 * GiB);
    assert.equal(machineTotals(undefined).used, null);
  });
});

describe("handleKey", () => {
  const s0 = INITIAL_UI;
  it("sort keys and reverse", () => {
    assert.equal(handleKey(s0, "u", 10).state.sort, "uss");
    assert.equal(handleKey(s0, "r", 10).state.sort, "rss");
    assert.equal(handleKey(s0, "s", 10).state.sort, "swap");
    assert.equal(handleKey(s0, "n", 10).state.sort, "name");
    assert.equal(handleKey(s0, "R", 10).state.reverse, true);
  });
  it("views: Tab cycles, digits choose", () => {
    let s: UiState = s0;
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      s = handleKey(s, "TAB", 10).state;
      seen.push(s.view);
    }
    assert.deepEqual(seen, ["users", "cgroups", "libraries", "processes"]);
    assert.equal(handleKey(s0, "3", 10).state.view, "cgroups");
    assert.equal(handleKey(s0, "SHIFT_TAB", 10).state.view, "libraries");
  });
  it("filter: / starts, text applies as typed, Backspace, Enter keeps, Esc clears", () => {
    let s = handleKey(s0, "/", 10).state;
    assert.equal(s.editing, true);
    for (const k of ["n", "g", "x", "BACKSPACE", "i"]) s = handleKey(s, k, 10).state;
    assert.equal(s.filter, "ngi");
    // Keys that mean something else outside the filter are text inside it.
    s = handleKey(s, "q", 10).state;
    assert.equal(s.filter, "ngiq");
    s = handleKey(s, "ENTER", 10).state;
    assert.equal(s.editing, false);
    assert.equal(s.filter, "ngiq");
    assert.equal(handleKey(s, "ESCAPE", 10).state.filter, "");
    const editing = handleKey(handleKey(s0, "/", 10).state, "a", 10).state;
    assert.deepEqual(handleKey(editing, "ESCAPE", 10).state, { ...s0, editing: false, filter: "" });
  });
  it("q and Ctrl-C quit; Ctrl-C even while typing a filter", () => {
    assert.equal(handleKey(s0, "q", 10).quit, true);
    assert.equal(handleKey(s0, "CTRL_C", 10).quit, true);
    assert.equal(handleKey(handleKey(s0, "/", 10).state, "CTRL_C", 10).quit, true);
  });
  it("scrolling by row and page; help opens and any key closes it", () => {
    let s = handleKey(s0, "PAGE_DOWN", 20).state;
    assert.equal(s.scroll, 20);
    s = handleKey(s, "UP", 20).state;
    assert.equal(s.scroll, 19);
    assert.equal(handleKey(s, "HOME", 20).state.scroll, 0);
    assert.equal(handleKey(s0, "UP", 20).state.scroll, 0);
    const h = handleKey(s0, "?", 20).state;
    assert.equal(h.help, true);
    assert.equal(handleKey(h, "x", 20).state.help, false);
    assert.equal(handleKey(s0, " ", 20).refresh, true);
  });
});

function frameInput(o: Partial<FrameInput> = {}): FrameInput {
  return {
    ui: INITIAL_UI,
    rows: rows(proc(1, "1", 30 * K, { name: "/bin/evil\x1b[2J\x1b]0;pwned\x07", user: "al\x1bice" }), proc(2, "2", 90 * K)),
    unfiltered: 2,
    added: 0,
    gone: 0,
    machine: machineTotals({ MemTotal: 8 * 1024 ** 3, MemFree: 1024 ** 3, Cached: 1024 ** 3, SwapTotal: 0, SwapFree: 0 }),
    scanMs: 412,
    mode: "pagemap",
    unreadable: 0,
    fallbackReason: undefined,
    intervalMs: 3000,
    scanning: false,
    takenAt: "08:00:00",
    error: undefined,
    width: 120,
    height: 20,
    ...o,
  };
}

describe("renderFrame", () => {
  it("a header with the scan time and mode, the machine's totals, and exactly `height` lines of `width` columns at most", () => {
    const f = renderFrame(frameInput());
    assert.equal(f.lines.length, 20);
    const text = f.lines.map((l) => l.text).join("\n");
    assert.match(text, /scan 412 ms {2}mode pagemap/);
    assert.match(text, /memory used 6\.0G of 8\.0G {3}page cache 1\.0G/);
    assert.match(text, /swap off/);
    for (const l of f.lines) assert.ok(l.text.length <= 120, l.text);
  });
  it("names from /proc are shown escaped, never sent raw", () => {
    const text = renderFrame(frameInput()).lines.map((l) => l.text).join("\n");
    assert.ok(!text.includes("\x1b"), "no ESC reaches the screen");
    assert.ok(!text.includes("\x07"));
    assert.ok(text.includes("/bin/evil\\x1b[2J\\x1b]0;pwned\\x07"));
    assert.ok(text.includes("al\\x1bice"));
  });
  it("in smaps_rollup mode the header says so, why, and what is missing", () => {
    const text = renderFrame(frameInput({ mode: "smaps_rollup", unreadable: 37, fallbackReason: "/proc/kpagecount is readable by root only" }))
      .lines.map((l) => l.text)
      .join(" ")
      .replace(/\s+/g, " ");
    assert.match(text, /smaps_rollup fallback \(\/proc\/kpagecount is readable by root only\)/);
    assert.match(text, /Missing: exact USS/);
    assert.match(text, /37 other users' processes cannot be read/);
  });
  it("deltas: signed, 'new' for a row new since the last refresh", () => {
    assert.equal(formatDelta(1536), "+2K");
    assert.equal(formatDelta(-4096), "-4K");
    assert.equal(formatDelta(1.5 * 1024 * 1024), "+1.5M");
    assert.equal(formatDelta(0), "0");
    const a1 = advance(undefined, [proc(1, "1", 10 * K)]);
    const a2 = advance(a1.history, [proc(1, "1", 12 * K), proc(2, "2", 5 * K)]);
    const text = renderFrame(frameInput({ rows: arrange(a2.rows, INITIAL_UI), added: 1 })).lines.map((l) => l.text);
    assert.match(text.find((l) => l.includes("cmd1"))!, /\+2K +\+2K cmd1/);
    assert.match(text.find((l) => l.includes("cmd2"))!, /new +\+5K cmd2/);
  });
  it("scrolls: the page is clamped and the status line says which rows are shown", () => {
    const many = rows(...Array.from({ length: 100 }, (_, i) => proc(i + 1, String(i), (i + 1) * K)));
    const f = renderFrame(frameInput({ rows: arrange(many, INITIAL_UI), unfiltered: 100, ui: { ...INITIAL_UI, scroll: 1000 } }));
    assert.equal(f.scroll, 100 - f.page);
    assert.match(f.lines[f.lines.length - 1]!.text, new RegExp(`rows ${100 - f.page + 1}-100 of 100`));
  });
  it("batch frames (infinite height) hold every row", () => {
    const many = rows(...Array.from({ length: 300 }, (_, i) => proc(i + 1, String(i), K)));
    const f = renderFrame(frameInput({ rows: many, unfiltered: 300, height: Infinity }));
    assert.equal(f.lines.filter((l) => /cmd\d+/.test(l.text)).length, 300);
  });
});
