#!/usr/bin/env node
// The `pagelens` command: runs the bundled CLI (pagelens-main.cjs beside this
// file) with V8's code cache. A CLI timed against a C program pays for
// compiling its JavaScript on every start; the cache holds what a previous
// run of the same command compiled, so later runs skip that (20-30 ms of
// CPU on the benchmark machine). The cache is written beside the bundle,
// once per command, by a run that found none, and only where the directory
// belongs to the user running pagelens; a cache of another Node version or
// of another build is never used (its name carries both). Without a usable
// cache everything works the same, only slower to start.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { wrap } = require("node:module");

const file = path.join(__dirname, "pagelens-main.cjs");
// The bundle keeps main.ts's "#!" line, which is not JavaScript inside a function wrapper.
const source = fs.readFileSync(file, "utf8").replace(/^#!.*/, "");
const stat = fs.statSync(file);
// One cache per command (each compiles different code); --help and --version apart.
// scripts/bundle.mjs writes the names in, from the command definitions.
const COMMANDS = /* COMMAND_NAMES */ [];
const args = process.argv.slice(2);
const command = args.some((a) => ["-h", "--help", "-V", "--version"].includes(a)) ? "meta" : (args.find((a) => COMMANDS.includes(a)) ?? "ps");
const key = `${command}.${stat.size}-${Math.floor(stat.mtimeMs)}.${process.version}-${process.arch}`.replace(/[^A-Za-z0-9.-]/g, "_");
const cacheFile = path.join(__dirname, `.pagelens-main.${key}.v8cache`);

/** Our own cache file only: a regular file owned by this user (or root), writable by no one else. */
function readCache() {
  try {
    const st = fs.lstatSync(cacheFile);
    const uid = process.getuid ? process.getuid() : 0;
    if (!st.isFile() || (st.uid !== uid && st.uid !== 0) || (st.mode & 0o022) !== 0) return undefined;
    return fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

const cachedData = readCache();
const script = new vm.Script(wrap(source), { filename: file, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  process.once("exit", () => {
    try {
      const dir = fs.statSync(__dirname);
      if (process.getuid && dir.uid !== process.getuid()) return;
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
      fs.renameSync(tmp, cacheFile);
    } catch {
      // A cache is only ever a help.
    }
  });
}
const module_ = { exports: {} };
script.runInThisContext().call(module_.exports, module_.exports, require, module_, file, __dirname);
