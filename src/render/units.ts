/** Size formatting for tables: human units (default) or a fixed unit. Sizes arrive in bytes. */

export const UNITS = ["human", "bytes", "k", "m", "g"] as const;
export type Unit = (typeof UNITS)[number];

const K = 1024;

/** Human units in powers of 1024: "0", "812K", "1.5M", "23.4G". PSS may be fractional; it is rounded here only. */
export function formatSize(bytes: number, unit: Unit = "human"): string {
  if (!Number.isFinite(bytes)) throw new RangeError(`not a size: ${bytes}`);
  switch (unit) {
    case "bytes":
      return String(Math.round(bytes));
    case "k":
      return `${Math.round(bytes / K)}K`;
    case "m":
      return `${(bytes / K / K).toFixed(1)}M`;
    case "g":
      return `${(bytes / K / K / K).toFixed(2)}G`;
    case "human": {
      if (Math.round(bytes) === 0) return "0";
      const abs = Math.abs(bytes);
      if (abs < K) return `${Math.round(bytes)}B`;
      const units = ["K", "M", "G", "T", "P"];
      let v = bytes / K;
      let i = 0;
      // Move up a unit when the value would print as 1024 or more once rounded.
      const shown = (x: number, unitIndex: number): string => x.toFixed(Math.abs(x) >= 99.95 || unitIndex === 0 ? 0 : 1);
      while (Math.abs(Number(shown(v, i))) >= K && i < units.length - 1) {
        v /= K;
        i++;
      }
      return `${shown(v, i)}${units[i]}`;
    }
  }
}

/**
 * One unit for a whole table column, so sizes line up and compare at a
 * glance. With `human`: the smallest unit from K up (B for a column
 * below 1K) in which the column's largest value has at most six digits, so
 * a column up to 976 MiB is all in K, exact to the page (pmap -X prints
 * every size in kB), and past that in M (a 200K process beside a 2 GiB one
 * reads 0M rather than 0.0G); one decimal for M and up while the largest
 * value is below 100 of them. A true zero prints "0", a
 * non-zero value below half a unit "0" and the unit letter. A fixed unit is
 * used as given.
 */
export interface ColumnUnit {
  readonly unit: Unit;
  /** For human: the power of 1024 and its letter ("B" for bytes). */
  readonly power: number;
  readonly letter: string;
  readonly decimals: number;
}

const LETTERS = ["B", "K", "M", "G", "T", "P"];

export function columnUnit(largest: number, unit: Unit): ColumnUnit {
  if (unit !== "human") return { unit, power: 0, letter: "", decimals: 0 };
  const abs = Math.abs(largest);
  // Bytes only for a column below 1K (memory comes in pages): 4096 prints 4K.
  let power = Math.round(abs) >= K ? 1 : 0;
  while (power < LETTERS.length - 1 && Math.round(abs / K ** power) >= 1_000_000) power++;
  const decimals = power >= 2 && Number((abs / K ** power).toFixed(1)) < 100 ? 1 : 0;
  return { unit, power, letter: LETTERS[power]!, decimals };
}

/** `bytes` in the column's unit; zero is "0" whatever the unit. */
export function formatInColumn(bytes: number, c: ColumnUnit): string {
  if (c.unit !== "human") return formatSize(bytes, c.unit);
  if (!Number.isFinite(bytes)) throw new RangeError(`not a size: ${bytes}`);
  if (Math.round(bytes) === 0) return "0";
  return `${(bytes / K ** c.power).toFixed(c.decimals)}${c.letter}`;
}
