/**
 * `pagelens serve`, put together: the config, the scheduler around one scan
 * function, the registry and the server; then it runs until SIGINT or
 * SIGTERM. Loaded by the command only when `serve` runs (commands/serve.ts),
 * so the other commands never load prom-client, yaml or bcryptjs.
 */
import { UsageError } from "../../errors.js";
import type { Context } from "../context.js";
import { BasicAuth } from "./auth.js";
import { loadWebConfig, parseListen, readTlsFiles, type WebConfig } from "./config.js";
import { DEFAULT_ADDRESS_MAPS } from "../../report/html-report.js";
import { renderLivePage } from "../../render/html-render.js";
import { pageScript } from "../page-script.js";
import { scanReportsWithPage } from "./collect.js";
import { Exposition } from "./exposition.js";
import { metricFamilies } from "./metrics.js";
import { ScanScheduler } from "./scheduler.js";
import { beforeRepeatedScan, HOLD_YOUNG_GENERATION_AFTER } from "../../native/v8-heap.js";
import { startServer, type Refresh, type RunningServer } from "./server.js";

/** Why the address cannot be listened on, in words. */
const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: "the port is in use by another program",
  EACCES: "ports below 1024 need root (or CAP_NET_BIND_SERVICE)",
  EADDRNOTAVAIL: "no interface of this machine has that address",
  ENOTFOUND: "no such host name",
  EAI_AGAIN: "the host name could not be resolved",
};

export interface ServeOptions {
  readonly listen: string;
  readonly config?: string;
  /** Seconds: at most one scan per interval; scrapes within it share the last scan. */
  readonly interval: number;
  /** Seconds after which a scan is given up on. */
  readonly scanTimeout: number;
  readonly top: number;
  /** Address maps in the web view: the top N processes by PSS (default DEFAULT_ADDRESS_MAPS). */
  readonly addressMaps?: number;
  /** Seconds between the web view's refreshes (default 5; a refresh within --interval gets the last scan). */
  readonly pageRefresh?: number;
  readonly pagelensVersion?: string;
}

export interface StartedServe {
  readonly server: RunningServer;
  readonly scheduler: ScanScheduler<Refresh>;
}

/** Start serving (the first scan starts at once); the caller stops it with server.close(). */
export async function startServe(ctx: Context, o: ServeOptions): Promise<StartedServe> {
  const listen = parseListen(o.listen);
  const config: WebConfig = o.config !== undefined ? loadWebConfig(o.config) : { tls: undefined, basicAuthUsers: undefined };
  const tls = config.tls ? readTlsFiles(config.tls) : undefined;
  const exposition = new Exposition();
  let scans = 0;
  const scheduler = new ScanScheduler<Refresh>(
    async () => {
      exposition.scanStarted();
      // A server runs for months: once five scans have sized V8's young generation, hold it there, and
      // collect what the last refresh left before each scan (src/native/v8-heap.ts), so that the
      // server's RSS does not step up by 16-32 MiB at some later scan or pile up old garbage.
      beforeRepeatedScan(++scans, { holdAfter: HOLD_YOUNG_GENERATION_AFTER, collect: true });
      const { page, ...reports } = await scanReportsWithPage(ctx, { pagelensVersion: o.pagelensVersion ?? "", addressMaps: o.addressMaps ?? DEFAULT_ADDRESS_MAPS });
      return { reports, page, families: metricFamilies(reports, { top: o.top }) };
    },
    { freshMs: o.interval * 1000, timeoutMs: o.scanTimeout * 1000, onScanEnd: (e) => exposition.scanEnded(e) },
  );
  const auth = config.basicAuthUsers ? new BasicAuth(config.basicAuthUsers) : undefined;
  const page = renderLivePage(pageScript(), { api: "api/report", refreshSeconds: o.pageRefresh ?? 5 });
  const server = await startServer(
    { scheduler, exposition, auth, tls, page, onError: (err) => ctx.io.stderr(`pagelens: serve: ${err instanceof Error ? err.message : String(err)}\n`) },
    listen.host,
    listen.port,
  ).catch((err: NodeJS.ErrnoException) => {
    const why = LISTEN_ERRORS[err.code ?? ""];
    throw why ? new UsageError(`--listen ${o.listen}: ${why} (${err.code})`) : err;
  });
  if (!listen.loopback) {
    const missing = [tls ? "" : "TLS", auth ? "" : "basic authentication"].filter((x) => x !== "");
    if (missing.length > 0)
      ctx.io.stderr(
        `pagelens: warning: listening on ${o.listen}, beyond this machine, without ${missing.join(" or ")}: anyone who can reach it can read every process's command line, user and memory (set them in a --config file)\n`,
      );
  }
  // Scan once now, so the first scrape does not wait for a whole scan.
  void scheduler.get();
  return { server, scheduler };
}

/** Run until SIGINT or SIGTERM; the exit code. */
export async function runServe(ctx: Context, o: ServeOptions): Promise<number> {
  const { server, scheduler } = await startServe(ctx, o);
  ctx.io.stderr(`pagelens: serving ${server.url}/metrics and the web view at ${server.url}/ (at most one scan per ${o.interval} s; Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  scheduler.close();
  await server.close();
  // A scan still running cannot be interrupted; the process ends when it does (at most one scan's time).
  if (scheduler.stats.running) ctx.io.stderr("pagelens: stopping after the scan that is running\n");
  return 0;
}
