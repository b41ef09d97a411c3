/**
 * Every typed error maps to a documented exit code (src/cli/exit-codes.ts,
 * the README's table), by its class and errno code, never by its message.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EXIT, EXIT_MEANINGS, exitCodeFor } from "../../src/cli/exit-codes.js";
import {
  KernelFeatureError,
  NativeUnavailableError,
  ParseError,
  PermissionError,
  ProcReadError,
  ScanUnsupportedError,
  SyscallError,
  UsageError,
} from "../../src/errors.js";
import { NativeUnavailableError as FromLibc, SyscallError as SyscallFromLibc } from "../../src/native/libc.js";

test("the native calls' errors carry the errno and the file, and map to documented exit codes", () => {
  const refused = new SyscallError("mincore", "EPERM", 1, "/etc/shadow");
  assert.equal(refused.file, "/etc/shadow");
  assert.equal(refused.errno, 1);
  assert.equal(refused.message, "mincore on /etc/shadow failed: EPERM");
  assert.equal(exitCodeFor(refused), EXIT.permission);
  assert.equal(exitCodeFor(new SyscallError("mmap", "EACCES", 13, "/x")), EXIT.permission);
  assert.equal(exitCodeFor(new SyscallError("ioctl(PAGEMAP_SCAN)", "ESRCH", 3, "/proc/9/pagemap")), EXIT.noSuchProcess);
  assert.equal(exitCodeFor(new SyscallError("cachestat", "ENOSYS", 38, "/x")), EXIT.badInput);
  assert.equal(exitCodeFor(new SyscallError("memfd_create", "EMFILE", 24)), EXIT.badInput);
  assert.equal(exitCodeFor(new NativeUnavailableError("no koffi")), EXIT.badInput);
  assert.equal(exitCodeFor(new ScanUnsupportedError("no PAGEMAP_SCAN ioctl here", "ENOTTY")), EXIT.badInput);
  // The same classes whichever module they are imported from.
  assert.equal(FromLibc, NativeUnavailableError);
  assert.equal(SyscallFromLibc, SyscallError);
  // A message that reads like another error changes nothing.
  assert.equal(exitCodeFor(new SyscallError("mmap", "EIO", 5, "permission denied: no such process")), EXIT.badInput);
});

test("the other typed errors keep their exit codes, and an untyped error is internal", () => {
  assert.equal(exitCodeFor(new UsageError("bad")), EXIT.usage);
  assert.equal(exitCodeFor(new PermissionError("/proc/1/pagemap", "root")), EXIT.permission);
  assert.equal(exitCodeFor(new ParseError("/proc/meminfo", 3, "bad")), EXIT.badInput);
  assert.equal(exitCodeFor(new ProcReadError("/proc/x", "EIO", { code: "EIO" })), EXIT.badInput);
  assert.equal(exitCodeFor(new KernelFeatureError("soft-dirty", "no")), EXIT.badInput);
  assert.equal(exitCodeFor(new Error("permission denied")), EXIT.internal);
  const documented = new Set(EXIT_MEANINGS.map(([c]) => c));
  for (const code of Object.values(EXIT)) assert.ok(documented.has(code), `exit code ${code} is documented`);
});
