#!/usr/bin/env node
/** The `pagelens` executable: run the CLI with the process's arguments and streams. */
import { processIo } from "./io.js";
import { run } from "./run.js";

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  // `pagelens | head` closes the pipe early: that is not an error.
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

process.exitCode = await run(process.argv.slice(2), processIo());
