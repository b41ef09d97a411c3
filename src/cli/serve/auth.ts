/**
 * HTTP basic authentication against bcrypt hashes (basic_auth_users in the
 * config file). bcrypt is slow on purpose (~50 ms at cost 10 in JavaScript),
 * and Prometheus sends the same credentials with every scrape, so the
 * outcome for a given user, password and hash is remembered in a small
 * table keyed by a SHA-256 of the three (never the password itself), as
 * exporter-toolkit does. An unknown user costs a comparison too, against a
 * fixed hash, so timing does not tell which users exist.
 */
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";

/** Outcomes remembered; the table is emptied when full (it only saves work). */
const CACHE_MAX = 256;
/** A valid hash of a password no one knows: compared against for unknown users. */
const DUMMY_HASH = "$2b$10$xe2h8gurdqGhYET/MFF5uOQKpqBqpbsBk8lxEwclyCSRE72mYTW4i";

export class BasicAuth {
  private readonly outcomes = new Map<string, boolean>();

  constructor(private readonly users: ReadonlyMap<string, string>) {}

  /** Whether an Authorization header names a user of the config with the right password. */
  async check(header: string | undefined): Promise<boolean> {
    const cred = parseBasic(header);
    if (!cred) return false;
    const hash = this.users.get(cred.user);
    const key = createHash("sha256").update(cred.user).update("\0").update(cred.password).update("\0").update(hash ?? "").digest("hex");
    const known = this.outcomes.get(key);
    if (known !== undefined) return known;
    const ok = (await bcrypt.compare(cred.password, hash ?? DUMMY_HASH)) && hash !== undefined;
    if (this.outcomes.size >= CACHE_MAX) this.outcomes.clear();
    this.outcomes.set(key, ok);
    return ok;
  }
}

/** `Basic base64(user:password)` -> its parts; undefined for anything else. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
