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
