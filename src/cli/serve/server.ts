/**
 * The HTTP(S) server of `serve` (node:http / node:https). Read-only: GET and
 * HEAD only (405 otherwise), nothing it serves changes anything. Every
 * request that needs data waits on the scan scheduler, so a crowd of
 * scrapes shares one scan.
 *
 * Defences against slow and broken clients, each bounded:
 *  - headers must arrive within 10 s, the whole request within 15 s;
 *  - a keep-alive connection idle for 5 s is closed;
 *  - an answer not fully taken by the client within 30 s of being started
 *    (a reader at a byte a second) is cut off by destroying the socket, so
 *    its buffer is freed. The wait for a scan before it is bounded by
 *    --scan-timeout, not by this: a socket may rightly be quiet while the
 *    scan it waits for runs;
 *  - at most 512 connections at once (more are closed on arrival);
 *  - socket, request and response errors (a client gone mid-answer) are
 *    handled where they arise and never reach the process.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { renderGroupsJson } from "../../render/groups-render.js";
import { scriptSafeJson } from "../../render/html-render.js";
import { renderPsJson } from "../../render/ps-render.js";
import type { HtmlReport } from "../../report/html-report.js";
import { renderSystemJson } from "../../render/system-render.js";
import type { BasicAuth } from "./auth.js";
import type { Exposition } from "./exposition.js";
import { SERVE_GROUP_BY, type Family, type ScanReports, type ServeGroupBy } from "./metrics.js";
import type { ScanScheduler } from "./scheduler.js";

/** What one refresh keeps: the reports (for the JSON endpoints) and their metric families. */
export interface Refresh {
  readonly reports: ScanReports;
  readonly families: readonly Family[];
  /** The web view's data (/api/report), when the server shows the page. */
  readonly page?: HtmlReport;
}

export interface ServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** An answer still being sent after this long is cut off. */
  readonly responseTimeoutMs: number;
  readonly maxConnections: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  responseTimeoutMs: 30_000,
  maxConnections: 512,
};

export interface ServerDeps {
  readonly scheduler: ScanScheduler<Refresh>;
  readonly exposition: Exposition;
  readonly auth?: BasicAuth;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly limits?: ServerLimits;
  /** The web view's HTML (src/render/html-render.ts renderLivePage), served at /; without it / is the list of endpoints. */
  readonly page?: string;
  /** Told of errors that are not the client's (a bug in a handler). */
  readonly onError?: (err: unknown) => void;
}

const INDEX = `pagelens serve: where this machine's memory goes, for Prometheus.

  /                     the web view (the HTML report, refreshing), when shown
  /api                  this list
  /metrics              Prometheus text exposition format
  /api/report           the web view's data (as pagelens report --json)
  /api/ps               the ps report of the last scan (as pagelens ps --json)
  /api/groups?by=user   the groups report by user, cgroup or unit (as pagelens groups --json)
  /api/system           the system reconciliation (as pagelens system --json)

Read-only: GET and HEAD only.
`;

/** The page may run its own inline script and fetch from this server only. */
const PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'";

/** /api/report's body, rendered once per refresh however many clients ask. */
const pageBodies = new WeakMap<Refresh, string>();
function pageJson(r: Refresh): string {
  let body = pageBodies.get(r);
  if (body === undefined) pageBodies.set(r, (body = scriptSafeJson(r.page)));
  return body;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/** Per response: how long the client may take to read it (set by startServer). */
const responseTimeouts = new WeakMap<http.ServerResponse, number>();

function send(res: http.ServerResponse, code: number, type: string, body: string, headers: Record<string, string> = {}): void {
  // The client may have gone while its scan ran.
  if (res.destroyed || res.writableEnded) return;
  const cutOff = setTimeout(() => res.destroy(), responseTimeouts.get(res) ?? DEFAULT_LIMITS.responseTimeoutMs);
  res.once("close", () => clearTimeout(cutOff));
  res.writeHead(code, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", ...headers });
  res.end(body);
}

function handler(d: ServerDeps): Handler {
  const text = "text/plain; charset=utf-8";
  const json = "application/json; charset=utf-8";
  const answered = (res: http.ServerResponse, code: number): void => d.exposition.requests.inc({ code: String(code) });
  /** The reports of the latest refresh, or a 503 that says why there are none. */
  const reports = async (res: http.ServerResponse): Promise<ScanReports | undefined> => {
    const s = await d.scheduler.get();
    if (s.value) return s.value.reports;
    send(res, 503, text, `no scan has succeeded yet${s.error ? `: ${s.error}` : ""}\n`, { "Retry-After": "5" });
    answered(res, 503);
    return undefined;
  };
  return async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, text, "pagelens serve is read-only: GET and HEAD only\n", { Allow: "GET, HEAD" });
      return answered(res, 405);
    }
    if (d.auth && !(await d.auth.check(req.headers.authorization))) {
      send(res, 401, text, "unauthorized\n", { "WWW-Authenticate": 'Basic realm="pagelens", charset="UTF-8"' });
      return answered(res, 401);
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    let code = 200;
    switch (url.pathname) {
      case "/":
        if (d.page !== undefined) send(res, 200, "text/html; charset=utf-8", d.page, { "Content-Security-Policy": PAGE_CSP, "X-Frame-Options": "DENY" });
        else send(res, 200, text, INDEX);
        break;
      case "/api":
        send(res, 200, text, INDEX);
        break;
      case "/api/report": {
        const s = await d.scheduler.get();
        const refresh = s.value;
        if (!refresh?.page) {
          code = refresh ? 404 : 503;
          if (refresh) send(res, 404, text, "this server does not show the web view\n");
          else send(res, 503, text, `no scan has succeeded yet${s.error ? `: ${s.error}` : ""}\n`, { "Retry-After": "5" });
          break;
        }
        send(res, 200, json, pageJson(refresh));
        break;
      }
      case "/metrics": {
        const s = await d.scheduler.get();
        // Apply and render in the same turn: no other scrape can apply a newer scan in between.
        d.exposition.apply(s);
        const body = await d.exposition.text();
        send(res, 200, d.exposition.contentType, body);
        break;
      }
      case "/api/ps": {
        const r = await reports(res);
        if (!r) return;
        send(res, 200, json, renderPsJson(r.ps));
        break;
      }
      case "/api/groups": {
        const by = url.searchParams.get("by") ?? "user";
        if (!(SERVE_GROUP_BY as readonly string[]).includes(by)) {
          code = 400;
          send(res, 400, text, `by must be one of ${SERVE_GROUP_BY.join(", ")}\n`);
          break;
        }
        const r = await reports(res);
        if (!r) return;
        send(res, 200, json, renderGroupsJson(r.groups[by as ServeGroupBy]));
        break;
      }
      case "/api/system": {
        const r = await reports(res);
        if (!r) return;
        send(res, 200, json, renderSystemJson(r.system));
        break;
      }
      default:
        code = 404;
        send(res, 404, text, "not found (see / for what is here)\n");
    }
    answered(res, code);
  };
}

export interface RunningServer {
  readonly url: string;
  readonly address: AddressInfo;
  /** Stop listening and close every connection. */
  close(): Promise<void>;
}

export function startServer(d: ServerDeps, host: string, port: number): Promise<RunningServer> {
  const limits = d.limits ?? DEFAULT_LIMITS;
  const handle = handler(d);
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // A client gone mid-answer makes these emit errors: nothing to do but let the socket go.
    req.on("error", () => undefined);
    res.on("error", () => undefined);
    responseTimeouts.set(res, limits.responseTimeoutMs);
    handle(req, res).catch((err: unknown) => {
      d.onError?.(err);
      send(res, 500, "text/plain; charset=utf-8", "internal error\n");
      d.exposition.requests.inc({ code: "500" });
    });
  };
  const options: http.ServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxHeaderSize: 16 * 1024,
    // How often the two timeouts above are checked (Node's default, 30 s, would let a silent client stay three times longer).
    connectionsCheckingInterval: 1000,
  };
  const server: http.Server | https.Server = d.tls ? https.createServer({ ...options, cert: d.tls.cert, key: d.tls.key }, onRequest) : http.createServer(options, onRequest);
  server.maxConnections = limits.maxConnections;
  server.on("clientError", (_err, socket) => {
    if (socket.writable && !socket.destroyed) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  server.on("connection", (socket) => socket.on("error", () => undefined));
  if (d.tls) server.on("tlsClientError", () => undefined);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: host === "" ? undefined : host, port }, () => {
      server.off("error", reject);
      server.on("error", (err) => d.onError?.(err));
      const address = server.address() as AddressInfo;
      const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
      resolve({
        address,
        url: `${d.tls ? "https" : "http"}://${shown}:${address.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
