/**
 * The two ways a capture file lets a command down, both exit 3 (bad input):
 * the file itself is unusable, or it is fine but did not record what the
 * command needs.
 */
import { ParseError } from "../errors.js";

/** The capture is truncated, corrupt, of another format or version, or hostile: refused whole. */
export class CaptureFormatError extends ParseError {
  constructor(file: string, reason: string) {
    super(file, undefined, `not a usable pagelens capture: ${reason}`);
  }
}

/**
 * The capture is valid but holds no answer for this read: a file or a range
 * of words it did not record. Never a silent zero: a pagemap word not
 * recorded is not "not present".
 */
export class CaptureMissingError extends ParseError {
  constructor(
    readonly capture: string,
    readonly what: string,
    /** Which capture option would have recorded it, when one would have. */
    readonly hint?: string,
  ) {
    super(capture, undefined, `this capture cannot answer that: it did not record ${what}${hint ? ` (${hint})` : ""}`);
  }
}
