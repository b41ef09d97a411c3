/**
 * Loads the pagemap walk's WebAssembly module (wasm/pagemap-walk.ts, built
 * into dist/wasm) once per process and lays its memory out: input batches
 * that pagemap is read into directly, and the areas the walk writes to.
 */
import { wasmModule } from "./wasm-modules.js";

/** Entries per input batch, and batches: as in wasm/pagemap-walk.ts. */
export const WASM_BATCH = 65536;
export const WASM_SLOTS = 5;
/** The input slot for callers whose entries are not already in wasm memory. */
export const SPARE_SLOT = WASM_SLOTS - 1;

/** Counter indexes in `stats` (S_ constants of wasm/pagemap-walk.ts). */
export const S = { runs: 0, swaps: 1, trusted: 2, swapped: 3, migration: 4, guard: 5, uffdWp: 6, softDirty: 7, hidden: 8, pages: 9 } as const;

interface Exports {
  readonly memory: WebAssembly.Memory;
  layout(): number;
  inputAt(slot: number): number;
  runsAt(): number;
  swapsAt(): number;
  statsAt(): number;
  walk(slot: number, from: number, count: number, first: number, trust: number, shmemMark: number, maxSwapfiles: number): void;
}

export interface WalkWasm {
  readonly exports: Exports;
  /** Byte offset of input slot 0; slots follow each other, WASM_BATCH * 8 bytes each. */
  readonly inputBase: number;
  /** Input slots as bytes (to read pagemap into) and as 32-bit words. */
  readonly slots: readonly Uint8Array[];
  readonly slotWords: readonly Uint32Array[];
  /** Runs written by the last walk, as columns (PFN, length, bits). */
  readonly runPfn: Float64Array;
  readonly runLen: Uint32Array;
  readonly runBits: Uint8Array;
  readonly swapSlots: Float64Array;
  readonly stats: Int32Array;
}

let loaded: WalkWasm | undefined;

export function walkWasm(): WalkWasm {
  if (loaded) return loaded;
  const exports = new WebAssembly.Instance(wasmModule("pagemap-walk.wasm"), {}).exports as unknown as Exports;
  const need = exports.layout();
  const have = exports.memory.buffer.byteLength;
  if (need > have) exports.memory.grow(Math.ceil((need - have) / 65536));
  // The memory never grows again, so these views stay valid.
  const buffer = exports.memory.buffer;
  const inputBase = exports.inputAt(0);
  const slots = Array.from({ length: WASM_SLOTS }, (_, k) => new Uint8Array(buffer, exports.inputAt(k), WASM_BATCH * 8));
  loaded = {
    exports,
    inputBase,
    slots,
    slotWords: slots.map((s) => new Uint32Array(s.buffer, s.byteOffset, WASM_BATCH * 2)),
    runPfn: new Float64Array(buffer, exports.runsAt(), WASM_BATCH),
    runLen: new Uint32Array(buffer, exports.runsAt() + WASM_BATCH * 8, WASM_BATCH),
    runBits: new Uint8Array(buffer, exports.runsAt() + WASM_BATCH * 12, WASM_BATCH),
    swapSlots: new Float64Array(buffer, exports.swapsAt(), WASM_BATCH),
    stats: new Int32Array(buffer, exports.statsAt(), 10),
  };
  return loaded;
}
