/**
 * Which files `pagelens file PATH...` looks at: each PATH that is a regular
 * file, and every regular file under each PATH that is a directory, walked
 * the way page-types -f walks (nftw with FTW_PHYS | FTW_MOUNT): symbolic
 * links inside the tree are not followed and other filesystems are not
 * entered. A PATH named on the command line is followed if it is a link,
 * as the user asked for it by name. Hard links are counted once, under the
 * first name met, so directory totals are not inflated.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { errnoOf, ProcReadError } from "../errors.js";

/** A regular file to inspect. */
export interface FileTarget {
  /** The path as given, or joined under the directory given. */
  readonly path: string;
  readonly size: number;
  /** st_dev split the kernel's way, to match /proc/PID/maps "major:minor". */
  readonly major: number;
  readonly minor: number;
  readonly inode: number;
  readonly uid: number;
}

export interface WalkSkip {
  readonly path: string;
  readonly reason: string;
}

export interface WalkResult {
  readonly files: FileTarget[];
  /** Paths that could not be examined, and why. */
  readonly skipped: WalkSkip[];
  /** What the walk passed over on purpose. */
  readonly passed: { symlinks: number; special: number; otherFilesystems: number; hardLinks: number };
}

/** Linux dev_t layout (include/linux/kdev_t.h new_decode_dev; glibc gnu_dev_major/minor). */
export function splitDev(dev: bigint): { major: number; minor: number } {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n));
  return { major, minor };
}

function targetOf(p: string, st: fs.BigIntStats): FileTarget {
  const { major, minor } = splitDev(st.dev);
  return { path: p, size: Number(st.size), major, minor, inode: Number(st.ino), uid: Number(st.uid) };
}

/** Expand PATH arguments into regular files. A PATH that cannot be stat'ed is an error; trouble below it is a skip. */
export function walkFiles(paths: readonly string[]): WalkResult {
  const files: FileTarget[] = [];
  const skipped: WalkSkip[] = [];
  const passed = { symlinks: 0, special: 0, otherFilesystems: 0, hardLinks: 0 };
  const seen = new Set<string>();
  const add = (p: string, st: fs.BigIntStats): void => {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) {
      passed.hardLinks++;
      return;
    }
    seen.add(key);
    files.push(targetOf(p, st));
  };

  const walkDir = (dir: string, rootDev: bigint): void => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (err) {
      skipped.push({ path: dir, reason: `cannot list directory (${errnoOf(err) ?? String(err)})` });
      return;
    }
    // Sorted, so the output does not depend on directory order.
    names.sort();
    for (const name of names) {
      const p = path.join(dir, name);
      let st: fs.BigIntStats;
      try {
        st = fs.lstatSync(p, { bigint: true });
      } catch (err) {
        // Removed since readdir: not worth a line.
        if (errnoOf(err) !== "ENOENT") skipped.push({ path: p, reason: `cannot stat (${errnoOf(err) ?? String(err)})` });
        continue;
      }
      if (st.isSymbolicLink()) passed.symlinks++;
      else if (st.isDirectory()) {
        if (st.dev !== rootDev) passed.otherFilesystems++;
        else walkDir(p, rootDev);
      } else if (st.isFile()) add(p, st);
      else passed.special++;
    }
  };

  for (const p of paths) {
    let st: fs.BigIntStats;
    try {
      st = fs.statSync(p, { bigint: true });
    } catch (err) {
      const code = errnoOf(err);
      throw new ProcReadError(p, code === "ENOENT" ? "ENOENT (no such file or directory)" : (code ?? String(err)), { cause: err });
    }
    if (st.isDirectory()) walkDir(p, st.dev);
    else if (st.isFile()) add(p, st);
    else skipped.push({ path: p, reason: "not a regular file or directory" });
  }
  return { files, skipped, passed };
}
