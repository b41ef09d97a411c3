/**
 * Address-map runs (report/address-map.ts) from hand-made pagemap batches:
 * runs break where the pagemap bits, the PFN sequence or the class change;
 * without page values (no root) sharing comes from pagemap's exclusive bit;
 * hidden PFNs (zero) fold by address; only real swap entries are swapped.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodePagemapEntry, type PagemapEntry } from "../../src/decode/pagemap.js";
import { KPF_THP } from "../../src/decode/kpageflags.js";
import { AM_FILE, AM_HUGE, AM_PRESENT, AM_SHARED, AM_SWAPPED, buildAddressMap, PagemapRuns } from "../../src/report/address-map.js";
import type { PageValues } from "../../src/report/pages-report.js";
import type { Vma } from "../../src/parse/maps.js";

const MAX_SWAPFILES = 27;
const PS = 4096;

function batch(entries: ReadonlyArray<Partial<PagemapEntry> | null>): Uint32Array {
  const u32 = new Uint32Array(entries.length * 2);
  entries.forEach((e, i) => {
    if (!e) return;
    const w = encodePagemapEntry(e);
    u32[2 * i] = w.lo;
    u32[2 * i + 1] = w.hi;
  });
  return u32;
}

const VMA = { start: 0x1000 * PS, end: 0x1100 * PS, perms: "rw-p", name: "", kind: "anon" } as unknown as Vma;

function values(counts: Record<number, number>, thp: readonly number[] = []): PageValues {
  return {
    has: (pfn) => pfn in counts,
    countOf: (pfn) => counts[pfn] ?? 0,
    flagsLoOf: (pfn) => (thp.includes(pfn) ? 1 << KPF_THP : 0),
    flagsHiOf: () => 0,
    cgroupOf: () => 0,
  };
}

const triples = (m: ReturnType<typeof buildAddressMap>): number[][] => m.runs.vpn.map((v, i) => [v, m.runs.pages[i]!, m.runs.cls[i]!]);

describe("address map runs", () => {
  const pre = new PagemapRuns(MAX_SWAPFILES);
  pre.add(
    batch([
      { present: true, pfn: 100, exclusive: true },
      { present: true, pfn: 101, exclusive: true },
      { present: true, pfn: 102 }, // not exclusive: its own pagemap run
      null, // not present
      { present: true, pfn: 200, file: true },
      { present: true, pfn: 201, file: true },
      { swapped: true, swapType: 0, swapOffset: 9 },
      { swapped: true, swapType: 0, swapOffset: 40 },
      { swapped: true, swapType: 31, swapOffset: 4 }, // a PTE marker (guard): not swap
      { present: true, pfn: 300, exclusive: true },
    ]),
    10,
    0x1000,
  );

  it("with map counts and flags: shared by count, huge by flags, coalesced by class", () => {
    const m = buildAddressMap({ pid: 1, command: "x", pageSize: PS }, [VMA], pre, values({ 100: 1, 101: 1, 102: 1, 200: 2, 201: 3, 300: 1 }, [300]));
    assert.deepEqual(triples(m), [
      [0x1000, 3, AM_PRESENT], // the non-exclusive page has count 1: private, joins the run
      [0x1004, 2, AM_PRESENT | AM_FILE | AM_SHARED],
      [0x1006, 2, AM_SWAPPED],
      [0x1009, 1, AM_PRESENT | AM_HUGE],
    ]);
    assert.deepEqual(m.totals, { mapped: 0x100, present: 6, swapped: 2, shared: 2, private: 4, file: 2, anon: 4, huge: 1 });
    assert.equal(m.pageValues, true);
  });

  it("without page values: sharing from the exclusive bit, nothing huge", () => {
    const m = buildAddressMap({ pid: 1, command: "x", pageSize: PS }, [VMA], pre, undefined);
    assert.deepEqual(triples(m), [
      [0x1000, 2, AM_PRESENT],
      [0x1002, 1, AM_PRESENT | AM_SHARED],
      [0x1004, 2, AM_PRESENT | AM_FILE | AM_SHARED],
      [0x1006, 2, AM_SWAPPED],
      [0x1009, 1, AM_PRESENT],
    ]);
    assert.equal(m.pageValues, false);
  });

  it("hidden PFNs (no CAP_SYS_ADMIN) fold by address", () => {
    const hidden = new PagemapRuns(MAX_SWAPFILES);
    hidden.add(batch([{ present: true, pfn: 0, exclusive: true }, { present: true, pfn: 0, exclusive: true }, { present: true, pfn: 0 }]), 3, 0x1000);
    assert.deepEqual([hidden.vpn, hidden.len], [[0x1000, 0x1002], [2, 1]]);
    let visited = 0;
    hidden.forEachPresent(() => visited++);
    assert.equal(visited, 0, "no PFN to look up");
  });

  it("a run continues across batches when the next batch goes on where it stopped", () => {
    const r = new PagemapRuns(MAX_SWAPFILES);
    r.add(batch([{ present: true, pfn: 500, exclusive: true }]), 1, 0x2000);
    r.add(batch([{ present: true, pfn: 501, exclusive: true }]), 1, 0x2001);
    r.add(batch([{ present: true, pfn: 600, exclusive: true }]), 1, 0x2002);
    assert.deepEqual([r.vpn, r.len, r.pfn], [[0x2000, 0x2002], [2, 1], [500, 600]]);
  });
});
