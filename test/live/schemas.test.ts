/**
 * Live: every command's --json on this machine, validated against its schema
 * in schemas/ (the fixture test does the same on a fixture tree).
 */
import { test } from "node:test";
import { liveSkipReason, runCli } from "../support/scenario.js";
import { assertMatchesSchema, jsonInvocations } from "../support/schemas.js";
import assert from "node:assert/strict";

const skip = liveSkipReason();

test("live: --json of every command matches its schema", { skip }, () => {
  // pagelens itself is a process with memory; a library every process maps is a file in the page cache.
  for (const [schema, args] of jsonInvocations(process.pid, "/usr/lib/x86_64-linux-gnu/libc.so.6")) {
    const r = runCli(args, { timeoutMs: 180_000 });
    // `file` needs the optional native part (koffi): without it, exit 3 and a message saying so.
    if (schema === "file" && r.code === 3) {
      assert.match(r.stderr, /koffi|native|cachestat|mincore/i);
      continue;
    }
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assertMatchesSchema(schema, r.stdout, args.join(" "));
  }
});
