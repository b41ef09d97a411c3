/**
 * `pagelens serve`'s pure parts: label safety, the top-N bound, the config
 * file and --listen, basic-auth parsing, the registry's replacement of
 * series, and the scan scheduler (single flight, freshness, timeouts,
 * staleness) driven by a fake scan whose every step the test controls.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseBasic } from "../../src/cli/serve/auth.js";
import { isLoopback, parseListen, webConfigOf } from "../../src/cli/serve/config.js";
import { Exposition } from "../../src/cli/serve/exposition.js";
import { LABEL_MAX, safeLabel } from "../../src/cli/serve/labels.js";
import { metricFamilies, topByPss, type Family, type ScanReports } from "../../src/cli/serve/metrics.js";
import { ScanScheduler, type ScanEnd } from "../../src/cli/serve/scheduler.js";
import { UsageError } from "../../src/errors.js";

const HASH = "$2y$10$" + "a".repeat(53);

describe("safeLabel", () => {
  it("never lets a control byte through, and shows it", () => {
    const v = safeLabel("evil\x1b]0;title\x07\nnext\u202eabc\x9b");
    assert.doesNotMatch(v, /[\x00-\x1f\x7f-\x9f\u202e]/);
    assert.equal(v, "evil\\x1b]0;title\\x07\\nnext\\u202eabc\\x9b");
  });
  it("leaves quotes to the exposition format (prom-client escapes them)", () => {
    assert.equal(safeLabel('say "hi"'), 'say "hi"');
  });
  it("cuts long values, never inside a surrogate pair", () => {
    const long = "x".repeat(500);
    assert.equal(safeLabel(long), "x".repeat(LABEL_MAX) + "…");
    const emoji = "a".repeat(LABEL_MAX - 1) + "\u{1F600}tail";
    const cut = safeLabel(emoji);
    assert.equal(cut, "a".repeat(LABEL_MAX - 1) + "…");
    assert.ok(!/\p{Cs}/u.test(cut));
    assert.equal(safeLabel(long, 1024), long);
  });
  it("shows lone surrogates instead of sending invalid UTF-8", () => {
    assert.equal(safeLabel("a\ud800b"), "a\\ud800b");
  });
});

describe("topByPss", () => {
  const rows = [
    { id: 1, rss: 10, pss: 5, uss: 1, swap: 0 },
    { id: 2, rss: 20, pss: 50, uss: 2, swap: 1 },
    { id: 3, rss: 30, pss: 5, uss: 3, swap: 2 },
    { id: 4, rss: 40, pss: 7, uss: 4, swap: 4 },
  ];
  const tie = (a: { id: number }, b: { id: number }): number => a.id - b.id;
  it("keeps the N largest PSS (ties by the tie-breaker) and sums the rest", () => {
    const t = topByPss(rows, 2, tie);
    assert.deepEqual(
      t.top.map((r) => r.id),
      [2, 4],
    );
    assert.deepEqual(t.rest, { rss: 40, pss: 10, uss: 4, swap: 2, count: 2 });
    assert.deepEqual(
      t.restRows.map((r) => r.id),
      [1, 3],
    );
  });
  it("the top rows and the rest add up to every row", () => {
    for (const n of [0, 1, 3, 4, 10]) {
      const t = topByPss(rows, n, tie);
      assert.equal(t.top.length, Math.min(n, rows.length));
      assert.equal(t.top.reduce((a, r) => a + r.pss, 0) + t.rest.pss, 67);
      assert.equal(t.top.reduce((a, r) => a + r.rss, 0) + t.rest.rss, 100);
    }
  });
});

describe("metricFamilies", () => {
  /** Just the fields the mapping reads; the fixture test builds real reports. */
  function reportsWith(groups: { label: string; pss: number }[]): ScanReports {
    const row = (g: { label: string; pss: number }) => ({ key: g.label, label: g.label, rest: false, rss: g.pss, pss: g.pss, uss: 0, swap: 0, groupUss: null, sharedOutside: null, processes: 1 });
    const groupsReport = { groups: groups.map(row) };
    return {
      ps: { processes: [], totals: { unreadable: 0, noMemory: 0 }, machine: { distinctMapped: null, distinctHugetlb: null, memTotal: 100 }, mode: "smaps_rollup", kernel: { release: "6.18.0" } },
      groups: { user: groupsReport, cgroup: groupsReport, unit: groupsReport },
      system: { memTotal: 100, lines: [{ id: "free", bytes: 100, parts: [] }] },
    } as unknown as ScanReports;
  }

  it("sums groups whose names come out alike once cut, rather than letting one overwrite the other", () => {
    const prefix = "/kubepods/" + "x".repeat(1100);
    const f = metricFamilies(reportsWith([{ label: prefix + "a", pss: 3 }, { label: prefix + "b", pss: 4 }, { label: "/small", pss: 1 }]), { top: 50 });
    const pss = f.find((x) => x.name === "pagelens_group_pss_bytes")!.samples.filter((s) => s.labels["by"] === "user");
    assert.equal(pss.length, 3, "the two long names became one series, plus /small and other");
    assert.equal(pss.reduce((a, s) => a + s.value, 0), 8);
    assert.equal(pss.find((s) => s.labels["group"]!.startsWith("/kubepods/"))!.value, 7);
  });

  it("without root: no group USS series (absent, not zero), and scan_info says smaps_rollup", () => {
    const f = metricFamilies(reportsWith([{ label: "root", pss: 1 }]), { top: 50 });
    assert.equal(f.find((x) => x.name === "pagelens_group_group_uss_bytes"), undefined);
    assert.equal(f.find((x) => x.name === "pagelens_machine_mapped_bytes"), undefined);
    assert.deepEqual(f.find((x) => x.name === "pagelens_scan_info")!.samples[0]!.labels, { mode: "smaps_rollup", kernel: "6.18.0" });
  });
});

describe("the config file", () => {
  it("reads exporter-toolkit's shape, paths relative to the file", () => {
    const c = webConfigOf({ tls_server_config: { cert_file: "a.crt", key_file: "/etc/k.key" }, basic_auth_users: { prom: HASH } }, "/etc/pagelens/web.yml");
    assert.deepEqual(c.tls, { certFile: "/etc/pagelens/a.crt", keyFile: "/etc/k.key" });
    assert.equal(c.basicAuthUsers?.get("prom"), HASH);
    assert.deepEqual(webConfigOf(null, "x.yml"), { tls: undefined, basicAuthUsers: undefined });
  });
  const bad: [unknown, RegExp][] = [
    [["a"], /expected a mapping/],
    [{ basic_auth_user: { a: HASH } }, /unknown key "basic_auth_user"/],
    [{ http_server_config: {} }, /HTTP\/2 and extra headers are not supported/],
    [{ basic_auth_users: { prom: "secret" } }, /basic_auth_users.prom: not a bcrypt hash.*plain-text passwords are refused/],
    [{ basic_auth_users: { prom: "$2y$10$short" } }, /not a bcrypt hash/],
    [{ basic_auth_users: { "a:b": HASH } }, /is not a user name/],
    [{ basic_auth_users: {} }, /basic_auth_users is empty/],
    [{ basic_auth_users: "prom" }, /must be a mapping/],
    [{ tls_server_config: { cert_file: "a" } }, /tls_server_config.key_file must be a file name/],
    [{ tls_server_config: { cert_file: "a", key_file: "b", client_ca_file: "c" } }, /client_ca_file: client certificates are not supported/],
    [{ tls_server_config: { cert_file: "a", key_file: "b", min_versoin: "TLS13" } }, /min_versoin: unknown key/],
  ];
  for (const [doc, re] of bad)
    it(`refuses ${JSON.stringify(doc)} and names the file`, () => {
      assert.throws(
        () => webConfigOf(doc, "web.yml"),
        (e: unknown) => e instanceof UsageError && re.test(e.message) && e.message.startsWith("--config web.yml: "),
      );
    });
});

describe("--listen", () => {
  it("parses HOST:PORT, [IPV6]:PORT and :PORT, and knows loopback", () => {
    assert.deepEqual(parseListen("127.0.0.1:9465"), { host: "127.0.0.1", port: 9465, loopback: true });
    assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0, loopback: true });
    assert.deepEqual(parseListen(":9465"), { host: "", port: 9465, loopback: false });
    assert.deepEqual(parseListen("0.0.0.0:80"), { host: "0.0.0.0", port: 80, loopback: false });
    assert.deepEqual(parseListen("localhost:1"), { host: "localhost", port: 1, loopback: true });
    assert.equal(parseListen("10.0.0.1:9465").loopback, false);
    assert.equal(parseListen("[::]:9465").loopback, false);
    assert.ok(isLoopback("127.9.8.7"));
    assert.ok(isLoopback("::ffff:127.0.0.1"));
    assert.ok(!isLoopback("example.com"));
  });
  for (const bad of ["9465", "host", "1.2.3.4:70000", "[zz]:1", "a:b:c", "::1:9465"])
    it(`refuses ${bad}`, () => {
      assert.throws(() => parseListen(bad), UsageError);
    });
});

describe("basic auth header", () => {
  it("splits user and password at the first colon", () => {
    const h = `Basic ${Buffer.from("prom:pa:ss").toString("base64")}`;
    assert.deepEqual(parseBasic(h), { user: "prom", password: "pa:ss" });
    assert.equal(parseBasic(undefined), undefined);
    assert.equal(parseBasic("Bearer abc"), undefined);
    assert.equal(parseBasic(`Basic ${Buffer.from("nocolon").toString("base64")}`), undefined);
  });
});

describe("the registry", () => {
  const family = (samples: [string, number][]): Family[] => [
    { name: "pagelens_process_pss_bytes", help: "h", labelNames: ["pid"], samples: samples.map(([pid, value]) => ({ labels: { pid }, value })) },
  ];
  const snap = (families: Family[] | undefined, stale = false) => ({ value: families && { families }, at: 1, wallAt: 1_700_000_000_000, stale, error: stale ? "x" : undefined });
  it("replaces every series on a new scan: an exited process's series goes", async () => {
    const e = new Exposition();
    e.apply(snap(family([["1", 10], ["2", 20]])));
    let text = await e.text();
    assert.match(text, /^pagelens_process_pss_bytes\{pid="2"\} 20$/m);
    e.apply(snap(family([["1", 11]])));
    text = await e.text();
    assert.match(text, /^pagelens_process_pss_bytes\{pid="1"\} 11$/m);
    assert.doesNotMatch(text, /pid="2"/);
    assert.match(text, /^pagelens_scan_stale 0$/m);
    assert.match(text, /^pagelens_last_success_timestamp_seconds 1700000000$/m);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
  });
  it("marks old values stale, and escapes label values", async () => {
    const e = new Exposition();
    e.apply(snap([{ name: "pagelens_group_pss_bytes", help: "h", labelNames: ["group"], samples: [{ labels: { group: 'a"b\\c' }, value: 1 }] }], true));
    const text = await e.text();
    assert.match(text, /^pagelens_scan_stale 1$/m);
    assert.ok(text.includes('pagelens_group_pss_bytes{group="a\\"b\\\\c"} 1'), text);
  });
});

/** A fake scan: each call returns a promise the test settles. */
function fakeScan(): { scan: () => Promise<number>; calls: number; resolve: (v: number) => void; reject: (e: Error) => void } {
  const pending: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  const f = {
    calls: 0,
    scan: () =>
      new Promise<number>((resolve, reject) => {
        f.calls++;
        pending.push({ resolve, reject });
      }),
    resolve: (v: number) => pending.shift()!.resolve(v),
    reject: (e: Error) => pending.shift()!.reject(e),
  };
  return f;
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("the scan scheduler", () => {
  it("runs one scan for many concurrent requests", async () => {
    const f = fakeScan();
    const s = new ScanScheduler(f.scan, { freshMs: 1000, timeoutMs: 10_000 });
    const gets = Array.from({ length: 200 }, () => s.get());
    await tick();
    assert.equal(f.calls, 1);
    f.resolve(42);
    const all = await Promise.all(gets);
    assert.ok(all.every((x) => x.value === 42 && !x.stale));
    assert.equal(f.calls, 1);
    assert.deepEqual(s.stats, { scans: 1, succeeded: 1, failed: 0, timedOut: 0, running: false });
  });

  it("serves a fresh result without scanning, and scans again once it is old", async () => {
    let now = 0;
    const f = fakeScan();
    const s = new ScanScheduler(f.scan, { freshMs: 1000, timeoutMs: 10_000, now: () => now });
    const first = s.get();
    await tick();
    f.resolve(1);
    assert.equal((await first).value, 1);
    now = 999;
    assert.equal((await s.get()).value, 1);
    assert.equal(f.calls, 1);
    now = 1000;
    const second = s.get();
    await tick();
    assert.equal(f.calls, 2);
    f.resolve(2);
    assert.equal((await second).value, 2);
  });

  it("gives a scan up at the timeout, serves the old value as stale, and starts no second scan beside it", async () => {
    const ends: ScanEnd[] = [];
    const f = fakeScan();
    const s = new ScanScheduler(f.scan, { freshMs: 0, timeoutMs: 50, onScanEnd: (e) => ends.push(e) });
    const a = s.get();
    await tick();
    f.resolve(1);
    await a;
    const t0 = performance.now();
    const b = await s.get(); // this scan hangs
    const waited = performance.now() - t0;
    assert.ok(waited >= 45 && waited < 2000, `waited ${waited} ms`);
    assert.equal(b.value, 1);
    assert.equal(b.stale, true);
    assert.match(b.error ?? "", /timed out after 0\.1 s|timed out after 0\.0 s|timed out/);
    // While the hung scan still runs, requests get the stale value at once.
    const c = await s.get();
    assert.equal(c.stale, true);
    assert.equal(f.calls, 2, "no second scan beside the hung one");
    assert.equal(s.stats.timedOut, 1);
    assert.equal(s.stats.running, true);
    // When it finally ends, its result is kept.
    f.resolve(3);
    await tick();
    const d = s.snapshot();
    assert.equal(d.value, 3);
    assert.equal(d.stale, false);
    assert.deepEqual(
      ends.map((e) => e.outcome),
      ["ok", "timeout", "late"],
    );
  });

  it("keeps the last good value on failure, says why, and does not retry within the freshness window", async () => {
    let now = 0;
    const f = fakeScan();
    const s = new ScanScheduler(f.scan, { freshMs: 100, timeoutMs: 10_000, now: () => now });
    const a = s.get();
    await tick();
    f.resolve(7);
    await a;
    now = 200;
    const b = s.get();
    await tick();
    f.reject(new Error("kpageflags: EIO"));
    const r = await b;
    assert.equal(r.value, 7);
    assert.equal(r.stale, true);
    assert.equal(r.error, "scan failed: kpageflags: EIO");
    now = 250;
    await s.get();
    assert.equal(f.calls, 2, "a failing scan is not retried more than once per window");
    now = 300;
    const c = s.get();
    await tick();
    f.resolve(8);
    assert.deepEqual(await c, { value: 8, at: 300, wallAt: s.snapshot().wallAt, stale: false, error: undefined });
    assert.equal(s.stats.failed, 1);
  });

  it("a scan that throws synchronously is a failure like any other", async () => {
    const s = new ScanScheduler<number>(
      () => {
        throw new Error("boom");
      },
      { freshMs: 0, timeoutMs: 1000 },
    );
    const r = await s.get();
    assert.equal(r.value, undefined);
    assert.equal(r.error, "scan failed: boom");
  });
});
