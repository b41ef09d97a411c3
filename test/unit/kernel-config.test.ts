/**
 * config.gz has one reader (kernel/features.ts readKernelConfig), used by
 * the kernel probe and the system view alike, and read once per ProcFs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { readKernelConfig } from "../../src/kernel/features.js";
import { ProcFs } from "../../src/procfs/procfs.js";

test("readKernelConfig gunzips config.gz once per ProcFs; none, or a corrupt one, is undefined", (t) => {
  const root = mkdtempSync(join(tmpdir(), "pagelens-config-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, "config.gz"), gzipSync("CONFIG_VMAP_STACK=y\n# CONFIG_MEM_SOFT_DIRTY is not set\n"));
  const procfs = new ProcFs({ root });
  let reads = 0;
  const read = procfs.readOptionalBytes.bind(procfs);
  procfs.readOptionalBytes = (rel: string) => {
    reads++;
    return read(rel);
  };
  assert.equal(readKernelConfig(procfs)?.get("CONFIG_VMAP_STACK"), "y");
  assert.equal(readKernelConfig(procfs)?.get("CONFIG_MEM_SOFT_DIRTY"), "n");
  assert.equal(reads, 1);

  const empty = mkdtempSync(join(tmpdir(), "pagelens-config-"));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  assert.equal(readKernelConfig(new ProcFs({ root: empty })), undefined);
  writeFileSync(join(empty, "config.gz"), "not gzip");
  assert.equal(readKernelConfig(new ProcFs({ root: empty })), undefined);
});
