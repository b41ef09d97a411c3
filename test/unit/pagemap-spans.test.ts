/**
 * Which pagemap stretches a scan reads (src/scan/pagemap-spans.ts): mapped
 * ranges only, adjacent mappings together, never more than a batch, never
 * across a batch boundary, [vsyscall] never.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { pagemapSpans, PAGEMAP_BATCH, SKIP_MIN, type PagemapSpan } from "../../src/scan/pagemap-spans.js";
import type { VmaRange } from "../../src/scan/pagemap-spans.js";

const PS = 4096;
const vma = (startPage: number, pages: number, kind: VmaRange["kind"] = "anon"): VmaRange => ({ start: startPage * PS, end: (startPage + pages) * PS, kind });

/** Every page each span covers must lie in one of its mappings firstVma..lastVma, and every mapped page in exactly one span. */
function checkCover(vmas: readonly VmaRange[], spans: readonly PagemapSpan[]): void {
  const seen = new Map<number, number>();
  for (const s of spans) {
    assert.ok(s.count > 0 && s.count <= PAGEMAP_BATCH, `span size ${s.count}`);
    assert.equal(Math.floor(s.vpn / PAGEMAP_BATCH), Math.floor((s.vpn + s.count - 1) / PAGEMAP_BATCH), "within one batch-aligned block");
    for (let p = s.vpn; p < s.vpn + s.count; p++) {
      const v = vmas.findIndex((m) => m.start / PS <= p && p < m.end / PS);
      assert.ok(v >= s.firstVma && v <= s.lastVma, `page ${p} in mapping ${v}, outside ${s.firstVma}..${s.lastVma}`);
      seen.set(p, (seen.get(p) ?? 0) + 1);
    }
  }
  for (const m of vmas) {
    if (m.kind === "vsyscall") continue;
    for (let p = m.start / PS; p < m.end / PS; p++) assert.equal(seen.get(p), 1, `page ${p} read once`);
  }
}

test("adjacent mappings are read together; a hole splits the read", () => {
  const vmas = [vma(100, 1, "file"), vma(101, 3, "file"), vma(104, 2, "file"), vma(200, 5), vma(205, 1)];
  const spans = pagemapSpans(vmas, PS);
  assert.deepEqual(spans, [
    { vpn: 100, count: 6, firstVma: 0, lastVma: 2 },
    { vpn: 200, count: 6, firstVma: 3, lastVma: 4 },
  ]);
  checkCover(vmas, spans);
});

test("a large mapping is cut at batch boundaries; the mappings each piece covers are exact", () => {
  const B = PAGEMAP_BATCH;
  const vmas = [vma(B - 10, 5), vma(B - 5, 2 * B + 7), vma(3 * B + 2, 3), vma(5 * B, 1)];
  const spans = pagemapSpans(vmas, PS);
  assert.deepEqual(spans, [
    { vpn: B - 10, count: 10, firstVma: 0, lastVma: 1 },
    { vpn: B, count: B, firstVma: 1, lastVma: 1 },
    { vpn: 2 * B, count: B, firstVma: 1, lastVma: 1 },
    { vpn: 3 * B, count: 5, firstVma: 1, lastVma: 2 },
    { vpn: 5 * B, count: 1, firstVma: 3, lastVma: 3 },
  ]);
  checkCover(vmas, spans);
});

test("a mapping ending exactly on a batch boundary does not pull the next one into its read", () => {
  const B = PAGEMAP_BATCH;
  const vmas = [vma(B - 4, 4), vma(B, 4)];
  const spans = pagemapSpans(vmas, PS);
  assert.deepEqual(spans, [
    { vpn: B - 4, count: 4, firstVma: 0, lastVma: 0 },
    { vpn: B, count: 4, firstVma: 1, lastVma: 1 },
  ]);
  checkCover(vmas, spans);
});

test("[vsyscall] (above the end of the address space) and empty mappings are never read", () => {
  const vsyscall: VmaRange = { start: 0xffffffffff600000, end: 0xffffffffff601000, kind: "vsyscall" };
  const vmas = [vma(10, 2), vsyscall];
  assert.deepEqual(pagemapSpans(vmas, PS), [{ vpn: 10, count: 2, firstVma: 0, lastVma: 0 }]);
  assert.deepEqual(pagemapSpans([vma(10, 0)], PS), []);
  assert.deepEqual(pagemapSpans([], PS), []);
});

test("narrowed: parts are widened to whole 2 MiB blocks inside the stretch, near parts merged, far ones apart", () => {
  const B = PAGEMAP_BATCH;
  // One stretch of three mappings over 8 batches; parts: one page at the very start, one across a batch
  // boundary, two close together, one at the very end.
  const vmas = [vma(0, 3 * B), vma(3 * B, 2 * B), vma(5 * B, 3 * B)];
  const parts = [0, 1, B - 3, B + 2, 4 * B + 700, 4 * B + 701, 4 * B + 1500, 4 * B + 1501, 8 * B - 1, 8 * B];
  const spans = pagemapSpans(vmas, PS, () => parts);
  assert.deepEqual(spans, [
    { vpn: 0, count: 512, firstVma: 0, lastVma: 0 },
    { vpn: B - 512, count: 512, firstVma: 0, lastVma: 0 },
    { vpn: B, count: 512, firstVma: 0, lastVma: 0 },
    { vpn: 4 * B + 512, count: 1024, firstVma: 1, lastVma: 1 },
    { vpn: 8 * B - 512, count: 512, firstVma: 2, lastVma: 2 },
  ]);
  // Every page of every part is read, each once.
  const read = new Set<number>();
  for (const s of spans) for (let p = s.vpn; p < s.vpn + s.count; p++) {
    assert.ok(!read.has(p), `page ${p} read twice`);
    read.add(p);
  }
  for (let i = 0; i < parts.length; i += 2) for (let p = parts[i]!; p < parts[i + 1]!; p++) assert.ok(read.has(p), `page ${p} of a part is read`);
});

test("narrowed: widening never leaves the stretch, a part spanning mappings names them all, no parts reads nothing", () => {
  const vmas = [vma(100, 10), vma(110, 2000), vma(5000, 10)];
  const spans = pagemapSpans(vmas, PS, (s) => (s.first === 0 ? [105, 1000] : undefined));
  assert.deepEqual(spans, [
    { vpn: 100, count: 924, firstVma: 0, lastVma: 1 },
    { vpn: 5000, count: 10, firstVma: 2, lastVma: 2 },
  ]);
  assert.deepEqual(pagemapSpans(vmas, PS, () => []), []);
  assert.equal(SKIP_MIN % 512, 0);
});

test("the same mapping list gives the same spans, worked out once and frozen; another list or page size, its own", () => {
  const vmas = [vma(100, 4, "file"), vma(104, 2, "file"), vma(300, 8)];
  const spans = pagemapSpans(vmas, PS);
  // A Scanner hands an unchanged process the same list again (collect.ts MapsCache): no new spans per scan.
  assert.equal(pagemapSpans(vmas, PS), spans);
  assert.ok(Object.isFrozen(spans));
  assert.throws(() => (spans as PagemapSpan[]).push({ vpn: 0, count: 1, firstVma: 0, lastVma: 0 }), TypeError);
  // An equal list that is another array is worked out anew, with the same result.
  const copy = vmas.map((m) => ({ ...m }));
  assert.notEqual(pagemapSpans(copy, PS), spans);
  assert.deepEqual(pagemapSpans(copy, PS), spans);
  // The page size is part of the key.
  assert.deepEqual(pagemapSpans(vmas, PS / 2), [
    { vpn: 200, count: 12, firstVma: 0, lastVma: 1 },
    { vpn: 600, count: 16, firstVma: 2, lastVma: 2 },
  ]);
  assert.equal(pagemapSpans(vmas, PS), pagemapSpans(vmas, PS));
  // A narrowing is asked afresh each time (PAGEMAP_SCAN answers change): never memoised.
  const narrowed = pagemapSpans(vmas, PS, () => undefined);
  assert.notEqual(narrowed, spans);
  assert.deepEqual(narrowed, spans);
});
