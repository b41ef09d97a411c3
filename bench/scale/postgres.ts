/**
 * A real sharer for the scale suite: a PostgreSQL server the bench starts
 * itself, as an unprivileged user, in a temporary directory, on a free
 * loopback port; a table of about 600 MiB read into shared_buffers with
 * pg_prewarm (checked with pg_buffercache); then many connected backends, each
 * of which has scanned the table once (so each maps the warm buffer pool, as
 * the backends of a busy server do) and then sits idle. stop() (and the exit
 * and signal handlers) shut it down and remove the directory.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureDebianPackage, freeLoopbackPort, note, onCleanup, ProcessGroup, sleep } from "../lib.js";
import { PgConnection } from "./pg-wire.js";

export interface PgOptions {
  /** Idle backends to hold open. */
  readonly backends: number;
  /** shared_buffers, MiB (at least 512 by the issue). */
  readonly sharedBuffersMiB: number;
  /** Size of the table to warm, MiB (below shared_buffers, so all of it stays cached). */
  readonly tableMiB: number;
}

export interface PgServer {
  readonly version: string;
  readonly port: number;
  readonly postmaster: number;
  readonly user: string;
  /** The backends' pids (one per held connection). */
  readonly backendPids: readonly number[];
  /** Every process of the server: postmaster, its auxiliary processes and the backends. */
  members(): number[];
  /** How much of the table is in shared_buffers (MiB, from pg_buffercache). */
  readonly warmMiB: number;
  stop(): Promise<void>;
}

/** initdb and postgres of the newest PostgreSQL installed the Debian way, if any. */
function findBinaries(): { initdb: string; postgres: string; version: string } | undefined {
  const base = "/usr/lib/postgresql";
  let versions: string[];
  try {
    versions = fs.readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    return undefined;
  }
  for (const v of versions) {
    const initdb = path.join(base, v, "bin", "initdb");
    const postgres = path.join(base, v, "bin", "postgres");
    if (fs.existsSync(initdb) && fs.existsSync(postgres)) return { initdb, postgres, version: v };
  }
  return undefined;
}

/** uid and gid of the first existing unprivileged account among `names`. */
function account(names: readonly string[]): { user: string; uid: number; gid: number } | undefined {
  for (const user of names) {
    const u = spawnSync("id", ["-u", user], { encoding: "utf8" });
    const g = spawnSync("id", ["-g", user], { encoding: "utf8" });
    if (u.status === 0 && g.status === 0) return { user, uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  }
  return undefined;
}

/**
 * Start the server. Returns a reason string instead when the case cannot run
 * here (no package and it cannot be installed, not root, no unprivileged user).
 */
export async function startPostgres(o: PgOptions): Promise<PgServer | string> {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not root: the bench starts PostgreSQL as another user and reads every process's pagemap";
  const why = ensureDebianPackage("postgresql", () => findBinaries() !== undefined);
  if (why !== undefined) return why;
  const bin = findBinaries()!;
  const who = account(["postgres", "nobody"]);
  if (who === undefined) return "no unprivileged account (postgres or nobody) to run PostgreSQL as";

  // The directory: owned by that user, removed at the end whatever happens.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pagelens-bench-pg-"));
  const removeDir = (): void => fs.rmSync(dir, { recursive: true, force: true });
  const unregisterDir = onCleanup(removeDir);
  fs.chownSync(dir, who.uid, who.gid);
  const data = path.join(dir, "data");
  const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LANG: "C", LC_ALL: "C", HOME: dir };
  // setpriv sets the user's own supplementary groups too (Node's uid/gid options would keep
  // root's) and execs the program in place, so the pid the bench holds is the server's.
  const setpriv = fs.existsSync("/usr/bin/setpriv");
  const asUser = (argv: string[]): [string, string[], { cwd: string; env: typeof env; uid?: number; gid?: number }] =>
    setpriv
      ? ["/usr/bin/setpriv", [`--reuid=${who.uid}`, `--regid=${who.gid}`, "--init-groups", "--", ...argv], { cwd: dir, env }]
      : [argv[0]!, argv.slice(1), { cwd: dir, env, uid: who.uid, gid: who.gid }];

  note(`postgres: initdb (PostgreSQL ${bin.version}) in ${data} as ${who.user}`);
  const [initCmd, initArgs, initOpts] = asUser([bin.initdb, "-D", data, "-U", "bench", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const init = spawnSync(initCmd, initArgs, { ...initOpts, encoding: "utf8" });
  if (init.status !== 0) {
    removeDir();
    unregisterDir();
    throw new Error(`bench: initdb failed (exit ${init.status}): ${(init.stderr || init.stdout).slice(-2000)}`);
  }

  const port = await freeLoopbackPort();
  const logFile = path.join(dir, "postgres.log");
  const log = fs.openSync(logFile, "w");
  fs.fchownSync(log, who.uid, who.gid);
  const settings = [
    "listen_addresses=127.0.0.1",
    `port=${port}`,
    `unix_socket_directories=${dir}`,
    `shared_buffers=${o.sharedBuffersMiB}MB`,
    // The held backends, the set-up connection and the superuser reserve.
    `max_connections=${o.backends + 10}`,
    // Plain 4 KiB pages: the buffer pool is ordinary shared memory, as on most hosts.
    "huge_pages=off",
    // No parallel workers: one backend per connection, each reading the pool itself.
    "max_parallel_workers_per_gather=0",
    "jit=off",
    // Nothing here needs to survive a crash; keep the set-up fast and the server quiet.
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "autovacuum=off",
    "logging_collector=off",
  ];
  note(`postgres: starting on 127.0.0.1:${port}, shared_buffers ${o.sharedBuffersMiB} MiB, max_connections ${o.backends + 10}`);
  const [pgCmd, pgArgs, pgOpts] = asUser([bin.postgres, "-D", data, ...settings.flatMap((s) => ["-c", s])]);
  const child = spawn(pgCmd, pgArgs, { ...pgOpts, stdio: ["ignore", log, log] });
  fs.closeSync(log);
  if (child.pid === undefined) {
    await new Promise((r) => child.once("error", r));
    removeDir();
    unregisterDir();
    throw new Error(`bench: cannot start ${bin.postgres}`);
  }
  let exited: string | undefined;
  child.once("exit", (code, sig) => (exited = sig ? `signal ${sig}` : `exit ${code}`));
  const group = new ProcessGroup(child.pid);
  const conns: PgConnection[] = [];

  // Exit/signal path: immediate shutdown (SIGQUIT makes the postmaster stop its children and
  // release its shared memory), then SIGKILL for anything left, then the directory.
  unregisterDir();
  const unregister = onCleanup(() => {
    for (const c of conns) c.close();
    group.refresh();
    group.signalLeader("SIGQUIT");
    if (!group.waitGoneSync(5000)) group.killAll();
    group.waitGoneSync(2000);
    removeDir();
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const c of conns) c.close();
    group.refresh();
    // Fast shutdown: backends are terminated, then the postmaster exits.
    group.signalLeader("SIGINT");
    if (!(await group.waitGone(20_000))) {
      note("postgres: still running 20 s after SIGINT; SIGQUIT, then SIGKILL");
      group.signalLeader("SIGQUIT");
      if (!(await group.waitGone(5000))) group.killAll();
      await group.waitGone(2000);
    }
    removeDir();
    unregister();
  };

  try {
    // Wait until it accepts connections.
    const t0 = performance.now();
    let setup: PgConnection | undefined;
    while (setup === undefined) {
      if (exited !== undefined) throw new Error(`bench: postgres exited (${exited}):\n${fs.readFileSync(logFile, "utf8").slice(-2000)}`);
      try {
        setup = await PgConnection.connect("127.0.0.1", port, "bench", "postgres", 2000);
      } catch (err) {
        if (performance.now() - t0 > 60_000) throw new Error(`bench: postgres did not accept connections within 60 s: ${String(err)}`);
        await sleep(200);
      }
    }
    conns.push(setup);

    // The table: one ~730-byte row per 8 KiB page (fillfactor 10), so a scan touches every
    // page of it while handling few rows: each backend's scan is quick, yet maps the whole table.
    const pages = Math.floor((o.tableMiB * 1024 * 1024) / 8192);
    note(`postgres: creating a ${o.tableMiB} MiB table (${pages} pages) and reading it into shared_buffers (pg_prewarm)`);
    await setup.query("CREATE EXTENSION pg_prewarm; CREATE EXTENSION pg_buffercache");
    await setup.query("CREATE TABLE t (id int, pad text) WITH (fillfactor = 10)");
    await setup.query(`INSERT INTO t SELECT g, repeat('x', 700) FROM generate_series(1, ${pages}) g`);
    await setup.query("SELECT pg_prewarm('t')");
    const warm = await setup.query("SELECT count(*) * 8192 / 1048576 FROM pg_buffercache WHERE relfilenode = pg_relation_filenode('t')");
    const warmMiB = Number(warm[0]?.[0] ?? 0);
    const sizeMiB = Number((await setup.query("SELECT pg_relation_size('t') / 1048576"))[0]?.[0] ?? 0);
    note(`postgres: table ${sizeMiB} MiB, ${warmMiB} MiB of it in shared_buffers`);
    setup.close();
    conns.splice(conns.indexOf(setup), 1);

    // The backends: connect, scan the table once (each then maps the warm pool), stay idle.
    note(`postgres: connecting ${o.backends} backends, each scanning the table once`);
    const t1 = performance.now();
    const batch = 8;
    for (let i = 0; i < o.backends; i += batch) {
      const made = await Promise.all(
        Array.from({ length: Math.min(batch, o.backends - i) }, async () => {
          const c = await PgConnection.connect("127.0.0.1", port, "bench", "postgres", 30_000);
          conns.push(c);
          await c.query("SELECT count(*) FROM t");
          return c;
        }),
      );
      if (made.some((c) => c.backendPid <= 0)) throw new Error("bench: a backend did not say its pid");
    }
    group.refresh();
    note(`postgres: ${conns.length} backends connected in ${((performance.now() - t1) / 1000).toFixed(1)} s; ${group.alive().length} server processes`);
    return {
      version: bin.version,
      port,
      postmaster: child.pid,
      user: who.user,
      backendPids: conns.map((c) => c.backendPid),
      members: () => {
        group.refresh();
        return group.alive();
      },
      warmMiB,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
