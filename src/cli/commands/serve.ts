/**
 * `pagelens serve`: /metrics for Prometheus, and the views as JSON, over
 * HTTP on loopback by default. The server lives in src/cli/serve/; it is
 * imported only when this command runs, so prom-client and the config and
 * password libraries cost the other commands nothing at start-up.
 */
import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { DEFAULT_ADDRESS_MAPS } from "../../report/html-report.js";
import { makeContext, type GlobalOptions } from "../context.js";
import type { CliIo } from "../io.js";

interface ServeCommandOptions {
  readonly listen: string;
  readonly config?: string;
  readonly interval: number;
  readonly scanTimeout: number;
  readonly top: number;
  readonly addressMaps: number;
  readonly pageRefresh: number;
}

function positive(name: string, max: number, integer: boolean): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n)))
      throw new UsageError(`${name}: ${JSON.stringify(text)} is not ${integer ? "a whole number" : "a number"} between ${integer ? 1 : "0"} and ${max}`);
    return n;
  };
}

const SERVE_HELP = `
Endpoints: / (the web view: the HTML report of pagelens report, refreshing),
/metrics (Prometheus text format), /api/report, /api/ps,
/api/groups?by=user|cgroup|unit, /api/system (JSON, as the commands' --json),
/api (this list). GET and HEAD only.

Scrapes share scans: at most one scan runs at a time, and a scan's result is
served until it is --interval seconds old. A scan running longer than
--scan-timeout is given up on: the previous values are served with
pagelens_scan_stale 1 and pagelens_scan_errors_total{reason="timeout"} grows.

Security: it listens on loopback (127.0.0.1:9465) unless --listen says
otherwise. The --config file (the Prometheus exporters' web-config.yml shape)
turns on TLS and basic authentication:
  tls_server_config: {cert_file: server.crt, key_file: server.key}
  basic_auth_users: {prometheus: <bcrypt hash from htpasswd -nBC 10 "">}
Page-level numbers need root; without it serve reports smaps_rollup figures.
`;

function positiveOrZero(name: string, max: number): (text: string) => number {
  return (text) => (text.trim() === "0" ? 0 : positive(name, max, true)(text));
}

/** Register `serve` on the program (run.ts calls this once). */
export function registerServeCommand(program: Command, io: CliIo, setCode: (n: number) => void, version = ""): void {
  program
    .command("serve")
    .description("serve /metrics for Prometheus (per process, group and the whole machine) and the views as JSON over HTTP")
    .option("--listen <host:port>", "address to listen on (loopback by default; :PORT is every interface)", "127.0.0.1:9465")
    .option("--config <file>", "web config (YAML or JSON): tls_server_config, basic_auth_users")
    .option("--interval <seconds>", "at most one scan per this many seconds; scrapes in between share the last scan", positive("--interval", 86400, false), 15)
    .option("--scan-timeout <seconds>", "give a scan up after this many seconds and serve the previous values as stale", positive("--scan-timeout", 86400, false), 60)
    .option("--top <n>", "processes (and groups per grouping) with series of their own; the rest are summed into one 'other' row", positive("--top", 100000, true), 50)
    .option("--address-maps <n>", "address maps in the web view for the top N processes by PSS (0: none)", positiveOrZero("--address-maps", 10000), DEFAULT_ADDRESS_MAPS)
    .option("--page-refresh <seconds>", "how often the web view asks for new data (it gets the last scan until --interval has passed)", positive("--page-refresh", 86400, false), 5)
    .addHelpText("after", SERVE_HELP)
    .action(async function (this: Command) {
      const o = this.opts() as ServeCommandOptions;
      const ctx = makeContext(this.optsWithGlobals() as GlobalOptions, io);
      const { runServe } = await import("../serve/serve.js");
      setCode(await runServe(ctx, { ...o, pagelensVersion: version }));
    });
}
