/** Open a capture file for `--from`: checked whole before any command reads it. */
import * as fs from "node:fs";
import { errnoOf, ProcReadError } from "../errors.js";
import { ProcFs } from "../procfs/procfs.js";
import { CaptureBackend } from "./backend.js";
import { CaptureFormatError } from "./errors.js";
import { CAPTURE_LIMITS, readCapture, type CaptureLimits, type Manifest } from "./format.js";

export interface OpenedCapture {
  readonly procfs: ProcFs;
  /** The passwd entries recorded with it. */
  readonly passwdText: string;
  readonly manifest: Manifest;
}

/** Parse capture bytes into a ProcFs that answers from them. */
export function captureProcFs(bytes: Uint8Array, name: string, limits?: CaptureLimits): OpenedCapture {
  const contents = readCapture(bytes, name, limits);
  const procfs = new ProcFs({ root: contents.manifest.root, sysRoot: contents.manifest.sysRoot, backend: new CaptureBackend(contents, name) });
  return { procfs, passwdText: contents.meta.passwd, manifest: contents.manifest };
}

export function openCapture(file: string): OpenedCapture {
  let bytes: Buffer;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new CaptureFormatError(file, "not a regular file");
    if (st.size > CAPTURE_LIMITS.fileBytes) throw new CaptureFormatError(file, `larger than ${CAPTURE_LIMITS.fileBytes} bytes`);
    bytes = fs.readFileSync(file);
  } catch (err) {
    if (err instanceof CaptureFormatError) throw err;
    throw new ProcReadError(file, errnoOf(err) === "ENOENT" ? "no such capture file" : (errnoOf(err) ?? String(err)), { cause: err });
  }
  return captureProcFs(bytes, file);
}
