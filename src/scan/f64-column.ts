/**
 * A growable column of doubles (PFNs, page numbers, swap offsets), doubling
 * as it fills: a plain number[] of a million entries costs about 5x the
 * memory and the garbage collector's time.
 */
export class F64Column {
  data: Float64Array = new Float64Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }

  /** The values pushed: a view, valid until the next push. */
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}
