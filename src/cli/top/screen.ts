/**
 * The terminal, through terminal-kit: the alternate screen, raw keys, and a
 * ScreenBuffer that is drawn with `delta: true`, so each refresh sends only
 * the cells that changed (measured: ~2.4 KB and ~3 ms of CPU per frame for
 * a 200x50 screen of 1,000 changing rows; see README "pagelens top").
 *
 * terminal-kit is loaded here, on first use, and only by `pagelens top`: it
 * stays outside the bundle (scripts/bundle.mjs marks it external; it loads
 * its own parts lazily by computed names, which a bundler cannot follow),
 * so the other commands start exactly as before.
 *
 * Text reaches the buffer without markup or format arguments (put() then
 * neither interprets "^" markup nor "%" formats) and has been through
 * safeText already (frame.ts); terminal-kit also blanks any control
 * character left.
 */
import { createRequire } from "node:module";
import type { Line, LineStyle } from "./frame.js";

export interface Screen {
  readonly width: number;
  readonly height: number;
  draw(lines: readonly Line[]): void;
  onKey(handler: (name: string) => void): void;
  onResize(handler: () => void): void;
  /** Leave the alternate screen, show the cursor, give the keyboard back. Safe to call twice. */
  close(): void;
}

type TermKit = typeof import("terminal-kit");
type Attr = { bold?: boolean; inverse?: boolean; dim?: boolean; color?: string };

const STYLE: Readonly<Record<LineStyle, Attr>> = {
  title: { bold: true },
  normal: {},
  note: { color: "yellow" },
  columns: { inverse: true },
  status: { inverse: true },
  new: { bold: true },
};

/**
 * terminal-kit is CommonJS: required, not imported, because the bundled CLI
 * runs inside vm.Script (the code-cache loader), where import() has no
 * module loader to call.
 */
function loadTerminalKit(): TermKit {
  return createRequire(import.meta.url)("terminal-kit") as TermKit;
}

export function openScreen(): Screen {
  const termkit = loadTerminalKit();
  const term = termkit.terminal;
  term.fullscreen(true);
  term.hideCursor(true);
  term.grabInput(true);
  let buffer = new termkit.ScreenBuffer({ dst: term, width: term.width, height: term.height });
  let full = true;
  let closed = false;
  const screen: Screen = {
    get width() {
      return term.width;
    },
    get height() {
      return term.height;
    },
    draw(lines) {
      if (closed) return;
      buffer.fill({ attr: {}, char: " " });
      const n = Math.min(lines.length, buffer.height);
      for (let y = 0; y < n; y++) {
        const l = lines[y]!;
        if (l.text !== "") buffer.put({ x: 0, y, attr: STYLE[l.style], wrap: false, dx: 1, dy: 0 }, l.text);
      }
      // After a resize every cell is new: draw all of them once.
      buffer.draw({ delta: !full });
      full = false;
    },
    onKey(handler) {
      term.on("key", (name: string) => handler(name));
    },
    onResize(handler) {
      term.on("resize", (width: number, height: number) => {
        buffer = new termkit.ScreenBuffer({ dst: term, width, height });
        full = true;
        term.clear();
        handler();
      });
    },
    close() {
      if (closed) return;
      closed = true;
      term.grabInput(false);
      term.hideCursor(false);
      term.styleReset();
      term.fullscreen(false);
      // grabInput(false) pauses stdin; without this the TTY handle keeps Node alive.
      process.stdin.unref?.();
    },
  };
  return screen;
}
