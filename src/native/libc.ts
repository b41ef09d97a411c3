/**
 * The few C library calls Node cannot make: mmap, munmap, mincore, madvise,
 * posix_fadvise, memfd_create, pwritev from an address, and the cachestat(2)
 * system call, bound through the koffi FFI.
 *
 * Why koffi and not a native addon: koffi's platform binaries come from the
 * npm registry as prebuilt optional packages (glibc and musl, x64, arm64,
 * riscv64, loong64, ppc64), so `npm ci` needs no compiler, no Python and no
 * download of Node headers. A node-gyp addon needs all three on every machine
 * that installs pagelens.
 *
 * koffi is an optional dependency and is loaded lazily, the first time one of
 * these calls is wanted: everything else in pagelens works without it, and
 * this module turns its absence (or an unsupported platform) into a
 * NativeUnavailableError that says why.
 *
 * Addresses are passed and returned as `intptr_t`, not as pointers: user-space
 * addresses are below 2^47 (2^56 with 5-level paging), exact as JS numbers,
 * and integer and pointer arguments travel in the same registers on every
 * 64-bit Linux ABI koffi supports.
 */
import { createRequire } from "node:module";
import { NativeUnavailableError } from "../errors.js";

/** The errors of the native calls live with the others in src/errors.ts. */
export { NativeUnavailableError, SyscallError } from "../errors.js";

/** The bound functions. Every one returns -1 (or MAP_FAILED = -1) and sets errno on failure. */
export interface Libc {
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number;
  munmap(addr: number, length: number): number;
  mincore(addr: number, length: number, vec: Uint8Array): number;
  madvise(addr: number, length: number, advice: number): number;
  posixFadvise(fd: number, offset: number, length: number, advice: number): number;
  memfdCreate(name: string, flags: number): number;
  /** pwritev(2); `iov` holds struct iovec pairs (base, length) as 32-bit halves, little- or big-endian as the host. */
  pwritev(fd: number, iov: Uint32Array, count: number, offset: number): number;
  /** cachestat(fd, range, cstat, flags): `range` is 2 u64 (off, len), `cstat` 5 u64. */
  cachestat(fd: number, range: BigUint64Array, cstat: BigUint64Array): number;
  /** errno of the last call made through koffi on this thread. */
  errno(): number;
  /** errno number to name (EPERM, ENOSYS, ...). */
  errnoName(n: number): string;
}

/** cachestat(2)'s number: 451 in the generic table, which every 64-bit Linux architecture koffi supports shares. */
const NR_CACHESTAT = 451;

/** 64-bit Linux architectures with a koffi binary; 32-bit ones would need mmap64 and 64-bit off_t care. */
const SUPPORTED_ARCHS = new Set(["x64", "arm64", "riscv64", "loong64", "ppc64"]);

/**
 * The part of koffi's API used here, declared locally so that pagelens still
 * type-checks and builds where the optional dependency is not installed.
 */
export interface KoffiLibrary {
  func(definition: string): (...args: unknown[]) => unknown;
}
export interface Koffi {
  load(path: string | null): KoffiLibrary;
  errno(): number;
  readonly os: { readonly errno: Readonly<Record<string, number>> };
  /** Native memory of `length` elements of `type`, freed with `free`. */
  alloc(type: string, length: number): unknown;
  free(ptr: unknown): void;
  /** The address a native pointer holds. */
  address(ptr: unknown): bigint;
  /** An ArrayBuffer over `length` bytes of native memory at `ptr` (no copy). */
  view(ptr: unknown, length: number): ArrayBuffer;
}

let loaded: Libc | undefined;
let failure: NativeUnavailableError | undefined;
let koffiLoaded: { koffi: Koffi; lib: KoffiLibrary } | undefined;
let koffiFailure: NativeUnavailableError | undefined;

function loadKoffi(): { koffi: Koffi; lib: KoffiLibrary } {
  if (process.platform !== "linux") throw new NativeUnavailableError(`pagelens file needs Linux (this is ${process.platform})`);
  if (!SUPPORTED_ARCHS.has(process.arch)) throw new NativeUnavailableError(`no support for ${process.arch}: only 64-bit Linux (${[...SUPPORTED_ARCHS].join(", ")})`);
  let koffi: Koffi;
  try {
    // A computed require: the bundler leaves it alone, and Node resolves koffi next to pagelens at run time.
    const load = createRequire(import.meta.url);
    const name = "koffi";
    koffi = load(name) as Koffi;
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new NativeUnavailableError(`the optional dependency koffi could not be loaded (${why}); reinstall pagelens with optional dependencies (npm ci --include=optional)`);
  }
  let lib: KoffiLibrary;
  try {
    // dlopen(NULL): the C library Node itself is linked against (glibc or musl), whatever its file name.
    lib = koffi.load(null);
  } catch {
    try {
      lib = koffi.load("libc.so.6");
    } catch (err) {
      throw new NativeUnavailableError(`cannot open the C library (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return { koffi, lib };
}

/** koffi and the C library, loaded once; throws NativeUnavailableError (the same one every time) when they cannot be had. */
export function koffiAndLibc(): { koffi: Koffi; lib: KoffiLibrary } {
  if (koffiLoaded) return koffiLoaded;
  if (koffiFailure) throw koffiFailure;
  try {
    koffiLoaded = loadKoffi();
    return koffiLoaded;
  } catch (err) {
    if (err instanceof NativeUnavailableError) koffiFailure = err;
    throw err;
  }
}

function bind(): Libc {
  const { koffi, lib } = koffiAndLibc();
  try {
    const mmap = lib.func("intptr_t mmap(intptr_t addr, size_t length, int prot, int flags, int fd, int64_t offset)");
    const munmap = lib.func("int munmap(intptr_t addr, size_t length)");
    const mincore = lib.func("int mincore(intptr_t addr, size_t length, uint8_t *vec)");
    const madvise = lib.func("int madvise(intptr_t addr, size_t length, int advice)");
    const fadvise = lib.func("int posix_fadvise(int fd, int64_t offset, int64_t length, int advice)");
    const memfd = lib.func("int memfd_create(const char *name, unsigned int flags)");
    const pwritev = lib.func("intptr_t pwritev(int fd, void *iov, int count, int64_t offset)");
    const syscall = lib.func("long syscall(long number, ...)");
    return {
      mmap: (a, l, p, f, fd, o) => Number(mmap(a, l, p, f, fd, o)),
      munmap: (a, l) => munmap(a, l) as number,
      mincore: (a, l, v) => mincore(a, l, v) as number,
      madvise: (a, l, adv) => madvise(a, l, adv) as number,
      // posix_fadvise returns the error number instead of setting errno.
      posixFadvise: (fd, o, l, adv) => fadvise(fd, o, l, adv) as number,
      memfdCreate: (name, flags) => memfd(name, flags) as number,
      pwritev: (fd, iov, count, offset) => Number(pwritev(fd, iov, count, offset)),
      cachestat: (fd, range, cstat) => Number(syscall(NR_CACHESTAT, "uint", fd, "void *", range, "void *", cstat, "uint", 0)),
      errno: () => koffi.errno(),
      errnoName,
    };
  } catch (err) {
    throw new NativeUnavailableError(`the C library lacks a needed function (${err instanceof Error ? err.message : String(err)})`);
  }
}

let errnoNames: Map<number, string> | undefined;

/** errno number to name (EPERM, ENOSYS, ...), from koffi's table of the host's values (the first name of a number shared by two). */
export function errnoName(n: number): string {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, v] of Object.entries(koffiAndLibc().koffi.os.errno)) if (!errnoNames.has(v)) errnoNames.set(v, name);
  }
  return errnoNames.get(n) ?? `errno ${n}`;
}

/** The bound C library; throws NativeUnavailableError (the same one every time) when it cannot be had. */
export function libc(): Libc {
  if (loaded) return loaded;
  if (failure) throw failure;
  try {
    loaded = bind();
    return loaded;
  } catch (err) {
    if (err instanceof NativeUnavailableError) failure = err;
    throw err;
  }
}

/** Whether the native calls can be made, and why not; never throws. */
export function nativeAvailability(): { available: true } | { available: false; reason: string } {
  try {
    libc();
    return { available: true };
  } catch (err) {
    return { available: false, reason: err instanceof NativeUnavailableError ? err.reason : String(err) };
  }
}
