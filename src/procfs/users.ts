/** User names for uids, from an /etc/passwd-format file (default /etc/passwd). */
import * as fs from "node:fs";

export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length >= 3 && /^[0-9]+$/.test(f[2]!)) out.set(Number(f[2]), f[0]!);
  }
  return out;
}

/** A passwd file's path, or its text (the entries a capture recorded). */
export type PasswdSource = string | { readonly text: string };

export class UserNames {
  private readonly names: Map<number, string>;
  constructor(passwdFile: PasswdSource = "/etc/passwd") {
    let text = "";
    try {
      text = typeof passwdFile === "string" ? fs.readFileSync(passwdFile, "utf8") : passwdFile.text;
    } catch {
      // No passwd file (a snapshot, a container): uids are shown as numbers.
    }
    this.names = parsePasswd(text);
  }
  nameOf(uid: number | undefined): string {
    if (uid === undefined) return "?";
    return this.names.get(uid) ?? String(uid);
  }
}
