/**
 * A real browser for the scale suite: Debian's chromium, headless, with
 * several tabs of script-heavy pages served by a loopback HTTP server in the
 * bench itself (no internet). Each page builds a JS heap of small objects and
 * strings, typed arrays and a large DOM, then sets its title to "ready". The
 * bench opens the tabs through the DevTools HTTP endpoint (PUT /json/new),
 * waits for every tab to say ready and for the browser's memory to stop
 * changing, and stop() (or the exit and signal handlers) ends every process
 * of the browser by pid and removes its profile directory.
 *
 * Why this case: V8 reserves about 1.4 TiB of address space per renderer
 * (almost all PROT_NONE), which is what made pagelens slow on browsers.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { benchTmpDir, ensureDebianPackage, note, onCleanup, ProcessGroup, sleep, statusKiB } from "../lib.js";

export interface BrowserOptions {
  readonly tabs: number;
  /** Each page's typed arrays, MiB. */
  readonly typedMiB: number;
  /** Each page's small JS objects (each with a string and a small array). */
  readonly objects: number;
  /** Each page's DOM elements. */
  readonly elements: number;
}

export interface Browser {
  readonly version: string;
  readonly pid: number;
  /** Every live process of the browser. */
  members(): number[];
  /** Summed VmRSS of the browser's processes when it was declared steady, KiB. */
  readonly steadyRssKiB: number;
  readonly renderers: number;
  stop(): Promise<void>;
}

const CHROMIUM = "/usr/bin/chromium";

function page(tab: number, o: BrowserOptions): string {
  // Plain script, no network after the page itself: the work is allocation, and it is kept alive.
  return `<!doctype html><html><head><meta charset="utf-8"><title>loading</title></head><body><script>
"use strict";
const tab = ${tab};
const objects = [];
for (let i = 0; i < ${o.objects}; i++) objects.push({ i, name: "item-" + i + "-tab-" + tab, list: [i, i * 2, i * 3], when: i * 1.5 });
const typed = [];
for (let m = 0; m < ${o.typedMiB}; m += 8) {
  const f = new Float64Array(1 << 20);
  for (let j = 0; j < f.length; j++) f[j] = j * (tab + 1) + m;
  typed.push(f);
}
const root = document.createElement("div");
for (let i = 0; i < ${o.elements}; i++) {
  const d = document.createElement("div");
  d.className = "row r" + (i % 64);
  d.textContent = "row " + i + " of tab " + tab;
  root.appendChild(d);
}
document.body.appendChild(root);
let sum = 0;
for (const f of typed) sum += f[f.length - 1];
window.keep = { objects, typed, root, sum };
document.title = "ready";
</script></body></html>`;
}

async function getJson<T>(url: string, method = "GET"): Promise<T> {
  const r = await fetch(url, { method });
  if (!r.ok) throw new Error(`bench: ${method} ${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

/** Start the browser, open the tabs and wait until they have run and memory is steady; a reason string when it cannot run here. */
export async function startBrowser(o: BrowserOptions): Promise<Browser | string> {
  const why = ensureDebianPackage("chromium", () => fs.existsSync(CHROMIUM));
  if (why !== undefined) return why;

  // The pages' server, on a loopback port the kernel picks.
  const server = http.createServer((req, res) => {
    const m = /^\/tab\/(\d+)$/.exec(req.url ?? "");
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(page(Number(m[1]), o));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const addr = server.address();
  const httpPort = typeof addr === "object" && addr !== null ? addr.port : 0;
  const closeServer = (): void => {
    server.closeAllConnections();
    server.close();
  };

  const profile = fs.mkdtempSync(path.join(benchTmpDir(), "chromium-"));
  const flags = [
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
    // Port 0: Chromium picks a free one and writes it to <profile>/DevToolsActivePort.
    "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
    "about:blank",
  ];
  // Root cannot use Chromium's sandbox.
  if (typeof process.getuid === "function" && process.getuid() === 0) flags.unshift("--no-sandbox");
  const version = (await import("node:child_process")).spawnSync(CHROMIUM, ["--version"], { encoding: "utf8" }).stdout.trim().split("\n").pop() ?? "chromium";
  note(`chromium: starting ${version} headless, profile ${profile}`);
  const logFile = path.join(profile, "..", `${path.basename(profile)}.log`);
  const log = fs.openSync(logFile, "w");
  const child = spawn(CHROMIUM, flags, { stdio: ["ignore", log, log] });
  fs.closeSync(log);
  if (child.pid === undefined) {
    await new Promise((r) => child.once("error", r));
    closeServer();
    throw new Error(`bench: cannot start ${CHROMIUM}`);
  }
  // /usr/bin/chromium is a shell script that execs the browser: same pid.
  const group = new ProcessGroup(child.pid);
  let exited: string | undefined;
  child.once("exit", (code, sig) => (exited = sig ? `signal ${sig}` : `exit ${code}`));
  const unregister = onCleanup(() => {
    group.refresh();
    group.signalLeader("SIGTERM");
    if (!group.waitGoneSync(3000)) group.killAll();
    closeServer();
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    group.refresh();
    group.signalLeader("SIGTERM");
    if (!(await group.waitGone(10_000))) {
      note("chromium: still running 10 s after SIGTERM; SIGKILL");
      group.killAll();
      await group.waitGone(3000);
    }
    closeServer();
    fs.rmSync(profile, { recursive: true, force: true });
    unregister();
  };

  try {
    const tail = (): string => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").slice(-2000) : "");
    // The DevTools port.
    const portFile = path.join(profile, "DevToolsActivePort");
    let devtools = 0;
    for (const t0 = performance.now(); devtools === 0; ) {
      if (exited !== undefined) throw new Error(`bench: chromium exited (${exited}):\n${tail()}`);
      if (fs.existsSync(portFile)) devtools = Number(fs.readFileSync(portFile, "utf8").split("\n")[0]) || 0;
      if (devtools === 0) {
        if (performance.now() - t0 > 30_000) throw new Error(`bench: chromium wrote no DevToolsActivePort within 30 s:\n${tail()}`);
        await sleep(100);
      }
    }
    const base = `http://127.0.0.1:${devtools}`;
    note(`chromium: DevTools on ${base}; opening ${o.tabs} tabs of http://127.0.0.1:${httpPort}/tab/N`);
    for (let i = 0; i < o.tabs; i++) await getJson(`${base}/json/new?http://127.0.0.1:${httpPort}/tab/${i}`, "PUT");

    // Every tab has run its script...
    type Target = { type: string; title: string; url: string };
    for (const t0 = performance.now(); ; ) {
      const list = await getJson<Target[]>(`${base}/json/list`);
      const ready = list.filter((t) => t.type === "page" && t.url.includes("/tab/") && t.title === "ready").length;
      if (ready >= o.tabs) break;
      if (exited !== undefined) throw new Error(`bench: chromium exited (${exited}):\n${tail()}`);
      if (performance.now() - t0 > 120_000) throw new Error(`bench: only ${ready} of ${o.tabs} tabs were ready after 120 s`);
      await sleep(500);
    }
    // ...and the browser's memory has stopped changing: total VmRSS within 1% over 3 s
    // (V8 finishes compiling and collecting garbage after the scripts end).
    const rssNow = (): number => {
      group.refresh();
      return group.alive().reduce((s, p) => s + (statusKiB(p, "VmRSS") ?? 0), 0);
    };
    const samples: number[] = [];
    const t0 = performance.now();
    for (;;) {
      samples.push(rssNow());
      const last = samples.slice(-4);
      if (last.length === 4 && Math.max(...last) - Math.min(...last) <= 0.01 * Math.max(...last)) break;
      if (performance.now() - t0 > 90_000) {
        note("chromium: memory still changing after 90 s; measuring anyway");
        break;
      }
      await sleep(1000);
    }
    const members = group.alive();
    const renderers = members.filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes("--type=renderer");
      } catch {
        return false;
      }
    }).length;
    const steadyRssKiB = samples[samples.length - 1]!;
    note(`chromium: ${o.tabs} tabs ready, ${members.length} processes (${renderers} renderers), ${(steadyRssKiB / 1024).toFixed(0)} MiB RSS in all, steady`);
    return {
      version,
      pid: child.pid,
      members: () => {
        group.refresh();
        return group.alive();
      },
      steadyRssKiB,
      renderers,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
