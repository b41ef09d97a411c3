/**
 * When `serve` scans: never one full scan per request. A scan reads every
 * page table on the machine (about a second here, with the census), so
 * scrapes share scans:
 *
 *  - single flight: at most one scan runs at a time; a request that arrives
 *    while one runs waits for that one;
 *  - freshness: a result younger than `freshMs` (counted from the end of
 *    the last attempt, good or bad) is served as it is, so neither many
 *    Prometheus servers nor a failing scan make scans more frequent than
 *    one per `freshMs`;
 *  - timeout: a scan still running after `timeoutMs` is given up on: its
 *    waiters get the previous result marked stale, with the reason. A scan
 *    cannot be interrupted (parts of it are synchronous), so it is left to
 *    finish, and no other scan starts until it has: requests meanwhile get
 *    the stale result at once instead of piling up behind it. A late result
 *    that does arrive is kept (it is as good as any).
 *
 * The scan function is injected, and so is the clock, so all of this is
 * unit-tested with a fake scan.
 */

export interface SchedulerOptions {
  /** A result younger than this (ms since the last attempt ended) is served without a new scan. */
  readonly freshMs: number;
  /** A scan running longer than this (ms) is given up on. */
  readonly timeoutMs: number;
  /** Milliseconds, monotonic (default performance.now). */
  readonly now?: () => number;
  /** Told when each scan ends, or is given up on (once each). */
  readonly onScanEnd?: (e: ScanEnd) => void;
}

export interface ScanEnd {
  /** "ok", "error" (the scan threw), "timeout" (given up on; it may still finish later), "late" (a given-up scan finished after all). */
  readonly outcome: "ok" | "error" | "timeout" | "late";
  /** How long it ran (ms). */
  readonly ms: number;
  readonly error?: string;
}

export interface Snapshot<T> {
  /** The result of the last scan that succeeded, if any. */
  readonly value: T | undefined;
  /** When that scan ended (the clock's ms), and when it ended as wall-clock time (ms since the epoch). */
  readonly at: number | undefined;
  readonly wallAt: number | undefined;
  /** The latest attempt failed or timed out: `value` is older than it should be. */
  readonly stale: boolean;
  /** Why, when stale. */
  readonly error: string | undefined;
}

export interface SchedulerStats {
  /** Scans started. */
  readonly scans: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly running: boolean;
}

interface Running {
  readonly started: number;
  /** Resolves when the scan settles or is given up on, whichever comes first. */
  readonly done: Promise<void>;
  timedOut: boolean;
}

export class ScanScheduler<T> {
  private value: T | undefined;
  private at: number | undefined;
  private wallAt: number | undefined;
  private lastAttemptEnd = -Infinity;
  private error: string | undefined;
  private running: Running | undefined;
  private readonly now: () => number;
  private counts = { scans: 0, succeeded: 0, failed: 0, timedOut: 0 };
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly scan: () => Promise<T>,
    private readonly o: SchedulerOptions,
  ) {
    this.now = o.now ?? (() => performance.now());
  }

  /** The current result: fresh, or after the one scan this call may have to wait for. */
  async get(): Promise<Snapshot<T>> {
    const r = this.running;
    if (r) {
      // Past its deadline: neither wait for it nor start another beside it.
      if (!r.timedOut) await r.done;
    } else if (!this.closed && this.now() - this.lastAttemptEnd >= this.o.freshMs) await this.start().done;
    return this.snapshot();
  }

  snapshot(): Snapshot<T> {
    return { value: this.value, at: this.at, wallAt: this.wallAt, stale: this.error !== undefined, error: this.error };
  }

  get stats(): SchedulerStats {
    return { ...this.counts, running: this.running !== undefined };
  }

  /** Start no more scans, and stop the clock of the running one (so it does not keep the process alive). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private start(): Running {
    const started = this.now();
    this.counts.scans++;
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running: Running = { started, done, timedOut: false };
    this.running = running;
    const timer = (this.timer = setTimeout(() => {
      running.timedOut = true;
      this.counts.timedOut++;
      this.lastAttemptEnd = this.now();
      this.error = `scan timed out after ${(this.o.timeoutMs / 1000).toFixed(1)} s`;
      this.o.onScanEnd?.({ outcome: "timeout", ms: this.now() - started, error: this.error });
      release();
    }, this.o.timeoutMs));
    const settle = (ok: boolean, value: T | undefined, err: unknown): void => {
      clearTimeout(timer);
      const end = this.now();
      this.running = undefined;
      this.lastAttemptEnd = end;
      if (ok) {
        this.value = value;
        this.at = end;
        this.wallAt = Date.now();
        this.error = undefined;
        this.counts.succeeded++;
      } else {
        // A late failure of a scan already given up on was counted, and keeps its reason, as a timeout.
        if (!running.timedOut) {
          this.counts.failed++;
          this.error = `scan failed: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      this.o.onScanEnd?.({ outcome: running.timedOut ? "late" : ok ? "ok" : "error", ms: end - started, error: ok ? undefined : this.error });
      release();
    };
    // Started on the next turn so that a synchronous throw is a rejection like any other.
    Promise.resolve()
      .then(() => this.scan())
      .then(
        (v) => settle(true, v, undefined),
        (e: unknown) => settle(false, undefined, e),
      );
    return running;
  }
}
