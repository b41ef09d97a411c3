#!/usr/bin/env node
/** The `pagelens` executable: run the CLI with the process's arguments and streams. */
import { processIo, stdoutFailure } from "./io.js";
import { run } from "./run.js";

// A write to stdout that fails (closed pipe, full disk) arrives here, not at
// the write: exit at once with the code stdoutFailure gives, since the rest
// of the output has nowhere to go. Never a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  const f = stdoutFailure(err);
  if (f.message !== undefined) process.stderr.write(f.message);
  process.exit(f.code);
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
