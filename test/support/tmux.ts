/**
 * Driving a full-screen program in a real terminal: tmux, on a server of its
 * own (`tmux -L <socket>`, so the tests never touch anyone's tmux), one
 * detached session of a fixed size running a shell. Keys go in with
 * send-keys, the screen comes out with capture-pane.
 */
import { spawnSync } from "node:child_process";

/** Why tmux cannot be used here, or undefined when it can. */
export function tmuxMissing(): string | undefined {
  const r = spawnSync("tmux", ["-V"], { encoding: "utf8" });
  if (r.error) return `tmux is not installed (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); .ci/run installs the Debian package tmux`;
  if (r.status !== 0) return `tmux -V failed: ${r.stderr.trim()}`;
  return undefined;
}

export class TmuxSession {
  private readonly socket: string;
  readonly target = "t";

  /** A shell in a detached width x height session; PS1 is "PROMPT$ " so a test can see the prompt come back. */
  constructor(width: number, height: number, env: Record<string, string> = {}) {
    this.socket = `pagelens-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const vars = Object.entries({ PS1: "PROMPT$ ", ...env }).map(([k, v]) => `${k}=${shellQuote(v)}`);
    this.tmux("new-session", "-d", "-s", this.target, "-x", String(width), "-y", String(height), `env -i PATH=${shellQuote(process.env["PATH"] ?? "/usr/bin:/bin")} HOME=/tmp TERM=xterm-256color ${vars.join(" ")} sh`);
  }

  private tmux(...args: string[]): string {
    const r = spawnSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Type a line into the shell and press Enter. */
  typeLine(text: string): void {
    this.tmux("send-keys", "-t", this.target, "-l", text);
    this.tmux("send-keys", "-t", this.target, "Enter");
  }

  /** Send keys by tmux name ("q", "Escape", "Tab", "C-c", "Down") or literal text with `literal`. */
  keys(...names: string[]): void {
    this.tmux("send-keys", "-t", this.target, ...names);
  }

  literal(text: string): void {
    this.tmux("send-keys", "-t", this.target, "-l", text);
  }

  /** The visible screen, one string, lines joined by "\n". */
  capture(): string {
    return this.tmux("capture-pane", "-p", "-t", this.target);
  }

  /** Is the pane showing the alternate screen (a full-screen program is running)? */
  alternateOn(): boolean {
    return this.tmux("display-message", "-p", "-t", this.target, "#{alternate_on}").trim() === "1";
  }

  /** Wait until the screen satisfies `test`; the last screen is in the error otherwise. */
  async waitFor(test: (screen: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    let screen = "";
    for (;;) {
      screen = this.capture();
      if (test(screen)) return screen;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** End the session's server (only ours: it has its own socket). */
  kill(): void {
    spawnSync("tmux", ["-L", this.socket, "kill-server"]);
  }
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
