/**
 * The Prometheus side of `serve`: a prom-client registry holding the
 * scan-derived families (metrics.ts) and serve's own metrics: scan duration,
 * scans, errors, staleness, last success, requests, and the Node process's
 * own (process_resident_memory_bytes, ...) from prom-client's defaults.
 * prom-client writes the text exposition format and escapes label values.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Family } from "./metrics.js";
import type { ScanEnd, Snapshot } from "./scheduler.js";

export class Exposition {
  readonly registry = new Registry();
  private readonly gauges = new Map<string, Gauge>();
  private applied: readonly Family[] | undefined;
  private readonly scanDuration: Histogram;
  private readonly scans: Counter;
  private readonly scanErrors: Counter<"reason">;
  private readonly lastSuccess: Gauge;
  private readonly stale: Gauge;
  readonly requests: Counter<"code">;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Gauges that prom-client names with "_total", which promtool rightly refuses (a counter suffix on a gauge).
    for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) this.registry.removeSingleMetric(name);
    this.scanDuration = new Histogram({
      name: "pagelens_scan_duration_seconds",
      help: "How long each refresh took: the page-table scan, the kpageflags census and the reports (scans given up on are not observed).",
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    this.scans = new Counter({ name: "pagelens_scans_total", help: "Scans started (scrapes share scans: this grows at most once per --interval).", registers });
    this.scanErrors = new Counter({
      name: "pagelens_scan_errors_total",
      help: 'Scans that failed (reason="error") or were given up on after --scan-timeout (reason="timeout").',
      labelNames: ["reason"],
      registers,
    });
    // Both reasons exist from the start, so rate() sees the first error.
    this.scanErrors.inc({ reason: "error" }, 0);
    this.scanErrors.inc({ reason: "timeout" }, 0);
    this.lastSuccess = new Gauge({ name: "pagelens_last_success_timestamp_seconds", help: "When the last scan that succeeded ended (Unix time); absent before the first.", registers });
    this.stale = new Gauge({
      name: "pagelens_scan_stale",
      help: "1 when the latest scan failed or timed out, so the pagelens_process_*, pagelens_group_*, pagelens_machine_* and pagelens_system_* values are those of an older scan; else 0.",
      registers,
    });
    this.requests = new Counter({ name: "pagelens_http_requests_total", help: "HTTP requests answered, by status code.", labelNames: ["code"], registers });
  }

  scanStarted(): void {
    this.scans.inc();
  }

  scanEnded(e: ScanEnd): void {
    if (e.outcome === "ok" || e.outcome === "late") this.scanDuration.observe(e.ms / 1000);
    else this.scanErrors.inc({ reason: e.outcome });
  }

  /**
   * Put a snapshot's families into the registry: every scan-derived series is
   * replaced (a process that exited loses its series at once). Called right
   * before `text()`, in the same turn, so no scrape sees half of two scans.
   */
  apply(s: Snapshot<{ readonly families: readonly Family[] }>): void {
    this.stale.set(s.stale ? 1 : 0);
    if (s.wallAt !== undefined) this.lastSuccess.set(s.wallAt / 1000);
    const families = s.value?.families;
    if (families === undefined || families === this.applied) return;
    this.applied = families;
    const seen = new Set<string>();
    for (const f of families) {
      seen.add(f.name);
      let g = this.gauges.get(f.name);
      if (!g) {
        g = new Gauge({ name: f.name, help: f.help, labelNames: [...f.labelNames], registers: [this.registry] });
        this.gauges.set(f.name, g);
      }
      g.reset();
      for (const sample of f.samples) g.set(sample.labels, sample.value);
    }
    // A family missing from this scan (group USS without root, say) must not keep the last scan's values.
    for (const [name, g] of this.gauges) if (!seen.has(name)) g.reset();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
