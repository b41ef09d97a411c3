/**
 * Live: `pagelens top` on this machine's /proc, in a real terminal (tmux).
 * A process with a distinctive name (memscenario run through a symbolic
 * link called pltoplive, so its comm is that name) writes 16 MiB of private
 * pages; top, filtered to it, shows it with about that much PSS and USS.
 * Then the same as user nobody: the smaps_rollup fallback, said in the header.
 *
 * Run under the live lock: `flock /tmp/pagelens-live.lock node --test dist/test/live/top.test.js`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { cliForNobody, liveSkipReason, makeTempDir, memscenarioBinary, MiB, REPO_ROOT, Scenario } from "../support/scenario.js";
import { shellQuote, TmuxSession, tmuxMissing } from "../support/tmux.js";

const BIN = path.join(REPO_ROOT, "dist", "bin", "pagelens.cjs");
const skip = liveSkipReason() ?? tmuxMissing() ?? (fs.existsSync(BIN) ? undefined : `the CLI is not bundled (${BIN} missing): run node scripts/bundle.mjs`);
const PAGES = 4096; // 16 MiB
/** A whole-machine scan takes seconds; while other work runs, much longer. */
const FIRST_FRAME_MS = 180_000;

/** "16.4M" -> bytes. */
function sizeOf(text: string): number {
  const m = /^(-?[\d.]+)([KMGT]?)$/.exec(text);
  if (!m) throw new Error(`not a size: ${text}`);
  return Number(m[1]) * 1024 ** " KMGT".indexOf(m[2] || " ");
}

async function startMarker(): Promise<Scenario> {
  const link = path.join(makeTempDir("pagelens-top-live-"), "pltoplive");
  fs.symlinkSync(memscenarioBinary(), link);
  const proc = spawn(link, ["private", String(PAGES)], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, MEMSCENARIO_TIMEOUT: "600" } });
  const s = new Scenario("private", [String(PAGES)], proc);
  await new Promise<void>((resolve, reject) => {
    proc.once("spawn", () => resolve());
    proc.once("error", reject);
  });
  await s.ready(60_000);
  return s;
}

const exited = (s: string): boolean => /EXIT=\d+\s*\nPROMPT\$/.test(s);

test("top, live as root: the header, a known process after filtering, its PSS and USS, the users view, q", { skip }, async () => {
  const marker = await startMarker();
  const t = new TmuxSession(160, 40);
  try {
    t.typeLine(`node ${shellQuote(BIN)} top --interval 2; echo EXIT=$?`);
    let s = await t.waitFor((x) => /scan \d+ ms {2}mode pagemap/.test(x), "the first frame", FIRST_FRAME_MS);
    assert.match(s, /memory used [\d.]+[MG] of [\d.]+G +page cache [\d.]+[KMG]/);
    assert.ok(t.alternateOn());

    t.keys("/");
    t.literal("pltoplive");
    t.keys("Enter");
    const row = new RegExp(`\\n +${marker.pid} root +(\\S+) +(\\S+) +(\\S+) +(\\S+) .*pltoplive private ${PAGES}`);
    s = await t.waitFor((x) => row.test(x) && /1 of \d+ processes/.test(x), "the marker process after filtering", FIRST_FRAME_MS);
    const [, rss, pss, uss] = row.exec(s)!;
    // 16 MiB of its own pages, plus its share of the binary and libc.
    for (const [what, v] of [["RSS", rss!], ["PSS", pss!], ["USS", uss!]] as const) {
      const b = sizeOf(v);
      assert.ok(b >= 16 * MiB && b < 20 * MiB, `${what} ${v} should be 16 MiB and a little`);
    }

    t.keys("Escape");
    t.keys("2");
    s = await t.waitFor((x) => x.includes("pagelens top - users") && /\n +\d+ +\S+ +\S+ +\S+ +\S+ .* root\s*\n/.test(x), "the users view", FIRST_FRAME_MS);

    t.keys("q");
    s = await t.waitFor(exited, "the prompt after q", 30_000);
    assert.match(s, /EXIT=0/);
    assert.ok(!t.alternateOn(), "the alternate screen is left");
  } finally {
    t.kill();
    await marker.stop();
  }
});

function nobodySkip(): string | undefined {
  if (skip) return skip;
  const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "true"], { encoding: "utf8" });
  return r.error || r.status !== 0 ? `cannot switch to uid 65534 with setpriv: ${r.error?.message ?? r.stderr.trim()}` : undefined;
}

test("top, live as nobody: the header says the numbers come from smaps_rollup, why, and what is missing", { skip: nobodySkip() }, async () => {
  const main = cliForNobody(["node_modules/terminal-kit/package.json"], "pagelens-top-nonroot-");
  const t = new TmuxSession(160, 40);
  try {
    t.typeLine(`setpriv --reuid=65534 --regid=65534 --clear-groups node ${shellQuote(main)} top --interval 2; echo EXIT=$?`);
    const s = await t.waitFor((x) => x.includes("mode smaps_rollup") && /\n +\d+ /.test(x), "the first frame as nobody", FIRST_FRAME_MS);
    const flat = s.replace(/\s+/g, " ");
    assert.match(flat, /smaps_rollup fallback \(\/proc\/kpagecount is readable by root only\): numbers are the kernel's own totals per process/);
    assert.match(flat, /Missing: exact USS/);
    assert.match(flat, /\d+ other users' processes cannot be read at all \(shown as -\)/);
    t.keys("q");
    const end = await t.waitFor(exited, "the prompt after q", 30_000);
    assert.match(end, /EXIT=0/);
    assert.ok(!t.alternateOn());
  } finally {
    t.kill();
  }
});
