/**
 * Loads the pagemap walk's WebAssembly module (wasm/pagemap-walk.ts, built
 * into dist/wasm) once per process and lays its memory out: input batches
 * that pagemap is read into directly, and the areas the walk writes to.
 */
import { WALK_BATCH, WALK_COUNTERS, WALK_SLOTS } from "./wasm-abi.js";
import { wasmModule } from "./wasm-modules.js";

/** The input slot for callers whose entries are not already in wasm memory. */
export const SPARE_SLOT = WALK_SLOTS - 1;

interface Exports {
  readonly memory: WebAssembly.Memory;
  layout(): number;
  inputAt(slot: number): number;
  runsAt(): number;
  swapsAt(): number;
  statsAt(): number;
  refsAt(): number;
  tablesAt(): number;
  walk(slot: number, from: number, count: number, first: number, trust: number, shmemMark: number, maxSwapfiles: number, table: number): void;
}

export interface WalkWasm {
  readonly exports: Exports;
  /** Byte offset of input slot 0; slots follow each other, WALK_BATCH * 8 bytes each. */
  readonly inputBase: number;
  /** Input slots as bytes (to read pagemap into) and as 32-bit words. */
  readonly slots: readonly Uint8Array[];
  readonly slotWords: readonly Uint32Array[];
  /** Runs written by the last walk, as columns (PFN, length, bits). */
  readonly runPfn: Float64Array;
  readonly runLen: Uint32Array;
  readonly runBits: Uint8Array;
  readonly swapSlots: Float64Array;
  /** References written by the last walk (pagemap-walk.ts): first entry of the call and length. */
  readonly refStart: Uint32Array;
  readonly refLen: Uint32Array;
  readonly stats: Int32Array;
  /** Byte offset of the shared objects' tables (shared-objects.ts), and the entries room was made for. */
  readonly tablesAt: number;
  readonly tableRoom: number;
}

let loaded: WalkWasm | undefined;

export function walkWasm(): WalkWasm {
  if (loaded) return loaded;
  const exports = new WebAssembly.Instance(wasmModule("pagemap-walk.wasm"), {}).exports as unknown as Exports;
  const need = exports.layout();
  const have = exports.memory.buffer.byteLength;
  if (need > have) exports.memory.grow(Math.ceil((need - have) / 65536));
  loaded = views(exports);
  return loaded;
}

/**
 * Make room for `entries` table entries (8 bytes each) after the fixed
 * areas, growing the memory if needed: then views taken before are stale,
 * so callers take them after this, once per pass (passes take turns:
 * pagemap-pass.ts). Returns the module with its views.
 */
export function walkWasmWithTables(entries: number): WalkWasm {
  const w = walkWasm();
  if (entries <= w.tableRoom) return w;
  const need = w.tablesAt + entries * 8;
  w.exports.memory.grow(Math.ceil((need - w.exports.memory.buffer.byteLength) / 65536));
  loaded = views(w.exports);
  return loaded;
}

function views(exports: Exports): WalkWasm {
  const buffer = exports.memory.buffer;
  const inputBase = exports.inputAt(0);
  const slots = Array.from({ length: WALK_SLOTS }, (_, k) => new Uint8Array(buffer, exports.inputAt(k), WALK_BATCH * 8));
  const tablesAt = exports.tablesAt();
  return {
    exports,
    inputBase,
    slots,
    slotWords: slots.map((s) => new Uint32Array(s.buffer, s.byteOffset, WALK_BATCH * 2)),
    runPfn: new Float64Array(buffer, exports.runsAt(), WALK_BATCH),
    runLen: new Uint32Array(buffer, exports.runsAt() + WALK_BATCH * 8, WALK_BATCH),
    runBits: new Uint8Array(buffer, exports.runsAt() + WALK_BATCH * 12, WALK_BATCH),
    swapSlots: new Float64Array(buffer, exports.swapsAt(), WALK_BATCH),
    refStart: new Uint32Array(buffer, exports.refsAt(), WALK_BATCH),
    refLen: new Uint32Array(buffer, exports.refsAt() + WALK_BATCH * 4, WALK_BATCH),
    stats: new Int32Array(buffer, exports.statsAt(), WALK_COUNTERS),
    tablesAt,
    tableRoom: Math.floor((buffer.byteLength - tablesAt) / 8),
  };
}
