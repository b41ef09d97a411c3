/**
 * holdYoungGeneration (src/native/v8-heap.ts) and the Scanner's
 * holdYoungGenerationAfter: V8's young generation stops growing once held.
 *
 * The flag is process-wide and cannot be unset, so each case runs in a child
 * Node process of its own: the same churn (objects that survive scavenges,
 * which is what makes V8 grow the young generation) with and without the
 * hold. The case without it must grow, or the churn proves nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * A child that (maybe) holds, churns ~200 MB through a window of 16 K live
 * arrays (each survives about one scavenge), and prints the young
 * generation's size before and after the churn, in bytes.
 */
function youngGenerationAcrossChurn(hold: "none" | "direct" | "scanner"): { before: number; after: number } {
  const script = `
    import * as v8 from "node:v8";
    import { holdYoungGeneration } from ${JSON.stringify(path.join(dist, "src", "native", "v8-heap.js"))};
    import { Scanner } from ${JSON.stringify(path.join(dist, "src", "scan", "scanner.js"))};
    import { sampleSystem } from ${JSON.stringify(path.join(dist, "test", "support", "fixture-tree.js"))};
    const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
    const hold = ${JSON.stringify(hold)};
    if (hold === "direct") holdYoungGeneration();
    if (hold === "scanner") {
      const tree = sampleSystem();
      tree.write();
      try {
        const scanner = new Scanner(tree.procfs(), { passwdFile: tree.writePasswd(), holdYoungGenerationAfter: 2 });
        for (let i = 0; i < 3; i++) await scanner.scan();
      } finally {
        tree.cleanup();
      }
    }
    const before = young();
    const window = new Array(16384);
    for (let i = 0; i < 400000; i++) window[i % window.length] = new Array(64).fill(i);
    process.stdout.write(JSON.stringify({ before, after: young() }));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { before: number; after: number };
}

test("holdYoungGeneration: the churn that grows V8's young generation leaves a held one at its size", () => {
  const free = youngGenerationAcrossChurn("none");
  assert.ok(free.after > free.before, `without the hold the churn grows the young generation (${free.before} -> ${free.after} bytes)`);
  const held = youngGenerationAcrossChurn("direct");
  assert.ok(held.after <= held.before, `held: ${held.before} -> ${held.after} bytes`);
});

test("Scanner holdYoungGenerationAfter: held from the scan after the given number", () => {
  const held = youngGenerationAcrossChurn("scanner");
  assert.ok(held.after <= held.before, `held by the scanner: ${held.before} -> ${held.after} bytes`);
});
