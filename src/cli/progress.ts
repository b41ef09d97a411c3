/**
 * Progress on stderr while a scan takes more than a moment, on a terminal
 * only: silent when piped or redirected, and erased when done.
 */
import type { CliIo } from "./io.js";

const DELAY_MS = 300;
const EVERY_MS = 100;

export class Progress {
  private readonly start = performance.now();
  private last = 0;
  private shown = false;

  constructor(
    private readonly io: CliIo,
    private readonly what: string,
  ) {}

  update = (done: number, total: number): void => {
    if (!this.io.stderrIsTty) return;
    const now = performance.now();
    if (now - this.start < DELAY_MS || now - this.last < EVERY_MS) return;
    this.last = now;
    this.shown = true;
    this.io.stderr(`\r\x1b[K${this.what} ${done}/${total}`);
  };

  done(): void {
    if (this.shown) this.io.stderr("\r\x1b[K");
  }
}
