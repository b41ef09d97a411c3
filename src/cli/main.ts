#!/usr/bin/env node
/** The `pagelens` executable: run the CLI with the process's arguments and streams. */
import { processIo } from "./io.js";
import { run } from "./run.js";

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  // `pagelens | head` closes the pipe early: that is not an error.
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

// No top-level await: the bundled CLI is a CommonJS script (see scripts/bundle.mjs).
run(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // run() reports its own errors; this is a last resort.
    process.stderr.write(`pagelens: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
