/**
 * Streams many small pieces of output (page listings can have millions of
 * lines) in chunks: few writes, bounded memory, never one huge string.
 */

export type Write = (text: string) => void;

/** Pieces per write: large enough to keep the number of writes small, small enough to bound memory. */
const CHUNK_PIECES = 8192;

export interface ChunkedWriter {
  /** Queue one piece (with its own separator or newline). */
  push(piece: string): void;
  /** Write what is queued, followed by `tail`. */
  end(tail?: string): void;
}

export function chunkedWriter(write: Write): ChunkedWriter {
  let pieces: string[] = [];
  return {
    push(piece) {
      pieces.push(piece);
      if (pieces.length >= CHUNK_PIECES) {
        write(pieces.join(""));
        pieces = [];
      }
    },
    end(tail = "") {
      const text = pieces.join("") + tail;
      pieces = [];
      if (text !== "") write(text);
    },
  };
}
