/**
 * The capture file compressed on the pool threads (format.ts writeCaptureAsync): a tar of several
 * MiB becomes several gzip members, and the reader, gunzip and the words inside read it back exactly.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CAPTURE_FORMAT, CAPTURE_VERSION, readCapture, writeCapture, writeCaptureAsync, type CaptureContents } from "../../src/capture/format.js";
import { WordRecorder, WordTable } from "../../src/capture/words.js";

/** Gzip member headers as zlib writes them (1f 8b 08, no flags, mtime 0, OS 3): ten bytes that compressed data all but never holds by chance. */
function gzipMembers(bytes: Uint8Array): number {
  const head = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0];
  let n = 0;
  for (let i = 0; i + 10 <= bytes.length; i++) if (head.every((b, k) => bytes[i + k] === b) && bytes[i + 9] === 3) n++;
  return n;
}

function contents(): CaptureContents {
  // 12 MiB of text that does not compress to nothing (a seeded generator), plus a word member.
  let x = 987654321;
  const big = new Uint8Array(12 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    big[i] = 97 + ((x >>> 16) % 26);
  }
  const rec = new WordRecorder();
  const w = new Uint8Array(3000 * 8);
  const dv = new DataView(w.buffer);
  for (let i = 0; i < 3000; i++) dv.setBigUint64(i * 8, (1n << 63n) | BigInt(0xfffff000 + i * (i % 3)), true);
  rec.record(100, 3000, 3000, w, 0);
  return {
    manifest: {
      format: CAPTURE_FORMAT,
      version: CAPTURE_VERSION,
      pagelens: "test",
      time: "2026-12-06T10:00:00.000Z",
      host: "h",
      kernel: "6.18",
      root: "/proc",
      sysRoot: "/sys",
      pids: 1,
      recorded: [],
      notRecorded: [],
    },
    meta: { pids: [1], pidsComplete: true, errors: {}, dirs: {}, exists: {}, owners: {}, wordErrors: {}, sizes: {}, passwd: "" },
    files: new Map([
      ["/proc/1/smaps", big],
      ["/proc/meminfo", Buffer.from("MemTotal: 1 kB\n")],
    ]),
    words: new Map([["/proc/1/pagemap", rec.encodeMember()]]),
  };
}

describe("capture compression on the pool threads", () => {
  it("several gzip members, read back exactly as the one-member file", async () => {
    const c = contents();
    const multi = await writeCaptureAsync(c);
    assert.ok(gzipMembers(multi) >= 2, "a 12 MiB tar is compressed in pieces");
    const one = readCapture(writeCapture(c), "one.tar.gz");
    const back = readCapture(multi, "multi.tar.gz");
    assert.deepEqual(back.manifest, one.manifest);
    assert.deepEqual(back.meta, one.meta);
    assert.deepEqual([...back.files.keys()].sort(), [...c.files.keys()].sort());
    for (const [k, v] of c.files) assert.ok(Buffer.from(back.files.get(k)!).equals(Buffer.from(v)), k);
    const t = WordTable.decode(back.words.get("/proc/1/pagemap")!, "multi");
    const out = new Uint8Array(3000 * 8);
    assert.equal(t.read(100, 3000, out, 0, "multi", "pagemap"), 3000);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < 3000; i++) assert.equal(dv.getBigUint64(i * 8, true), (1n << 63n) | BigInt(0xfffff000 + i * (i % 3)));
  });

  it("tar and gunzip read the multi-member file as one archive", { skip: spawnSync("tar", ["--version"]).status === 0 ? undefined : "no tar" }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pagelens-gz-"));
    try {
      const f = path.join(dir, "c.tar.gz");
      fs.writeFileSync(f, await writeCaptureAsync(contents()));
      const r = spawnSync("tar", ["tzf", f], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split("\n"), ["manifest.json", "meta.json", "files/proc/1/smaps", "files/proc/meminfo", "words/proc/1/pagemap"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
