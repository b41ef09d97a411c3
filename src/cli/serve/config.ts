/**
 * The `serve` config file (--config): basic authentication and TLS, in the
 * shape of the Prometheus exporters' web config (exporter-toolkit's
 * web-config.yml), so one file serves node_exporter and pagelens alike:
 *
 *   tls_server_config:
 *     cert_file: server.crt      # PEM; relative paths are from the config file's directory
 *     key_file: server.key
 *   basic_auth_users:
 *     prometheus: $2y$10$...     # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\n')
 *
 * YAML or JSON (JSON is YAML). Unknown keys are errors, not ignored: a
 * misspelt `basic_auth_users` must not silently serve without a password.
 * Options exporter-toolkit has and pagelens does not (client certificates,
 * cipher suites, headers) are named in the error. Also here: --listen.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { UsageError } from "../../errors.js";

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface WebConfig {
  readonly tls: TlsFiles | undefined;
  /** User name -> bcrypt hash; undefined when no authentication is asked for. */
  readonly basicAuthUsers: ReadonlyMap<string, string> | undefined;
}

/** A bcrypt hash as htpasswd -B, Go's bcrypt and bcryptjs write it: $2a$, $2b$ or $2y$, cost 04-31, 53 characters of salt and hash. */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

const NOT_SUPPORTED: Readonly<Record<string, string>> = {
  client_auth_type: "client certificates are not supported",
  client_ca_file: "client certificates are not supported",
  client_allowed_sans: "client certificates are not supported",
  cipher_suites: "the cipher suites are Node's defaults",
  curve_preferences: "the curves are Node's defaults",
  max_version: "the TLS versions are Node's defaults (1.2 and 1.3)",
  min_version: "the TLS versions are Node's defaults (1.2 and 1.3)",
  prefer_server_cipher_suites: "the cipher suites are Node's defaults",
  cert: "give the certificate as a file (cert_file)",
  key: "give the key as a file (key_file)",
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validate a parsed config document; `file` names it in errors and anchors relative paths. */
export function webConfigOf(doc: unknown, file: string): WebConfig {
  const where = `--config ${file}`;
  if (doc === null || doc === undefined) return { tls: undefined, basicAuthUsers: undefined };
  if (!isRecord(doc)) throw new UsageError(`${where}: expected a mapping with tls_server_config and/or basic_auth_users`);
  for (const k of Object.keys(doc))
    if (k !== "tls_server_config" && k !== "basic_auth_users")
      throw new UsageError(`${where}: unknown key ${JSON.stringify(k)}${k === "http_server_config" ? " (HTTP/2 and extra headers are not supported)" : ""} (known: tls_server_config, basic_auth_users)`);
  const dir = path.dirname(path.resolve(file));
  let tls: TlsFiles | undefined;
  const t = doc["tls_server_config"];
  if (t !== undefined && t !== null) {
    if (!isRecord(t)) throw new UsageError(`${where}: tls_server_config must be a mapping with cert_file and key_file`);
    for (const k of Object.keys(t)) {
      if (k === "cert_file" || k === "key_file") continue;
      const why = NOT_SUPPORTED[k];
      throw new UsageError(`${where}: tls_server_config.${k}: ${why ?? "unknown key"} (known: cert_file, key_file)`);
    }
    const fileOf = (k: "cert_file" | "key_file"): string => {
      const v = t[k];
      if (typeof v !== "string" || v.trim() === "") throw new UsageError(`${where}: tls_server_config.${k} must be a file name`);
      return path.resolve(dir, v);
    };
    tls = { certFile: fileOf("cert_file"), keyFile: fileOf("key_file") };
  }
  let users: Map<string, string> | undefined;
  const u = doc["basic_auth_users"];
  if (u !== undefined && u !== null) {
    if (!isRecord(u)) throw new UsageError(`${where}: basic_auth_users must be a mapping from user name to bcrypt hash`);
    users = new Map();
    for (const [name, hash] of Object.entries(u)) {
      if (name === "" || name.includes(":")) throw new UsageError(`${where}: basic_auth_users: ${JSON.stringify(name)} is not a user name (empty, or contains ':')`);
      if (typeof hash !== "string" || !BCRYPT.test(hash))
        throw new UsageError(`${where}: basic_auth_users.${name}: not a bcrypt hash (expected $2y$10$ and 53 characters; make one with: htpasswd -nBC 10 "" | tr -d ':\\n'); plain-text passwords are refused`);
      users.set(name, hash);
    }
    if (users.size === 0) throw new UsageError(`${where}: basic_auth_users is empty: name at least one user, or leave the key out`);
  }
  return { tls, basicAuthUsers: users };
}

/** Read and validate a config file; errors say which file and what is wrong. */
export function loadWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`--config ${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, maxAliasCount: 10 });
  } catch (err) {
    throw new UsageError(`--config ${file}: not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}`);
  }
  return webConfigOf(doc, file);
}

/** The TLS certificate and key, read now so that a bad file stops the start, not the first request. */
export function readTlsFiles(t: TlsFiles): { cert: Buffer; key: Buffer } {
  const read = (f: string, what: string): Buffer => {
    try {
      return fs.readFileSync(f);
    } catch (err) {
      throw new UsageError(`--config: tls_server_config: cannot read the ${what} ${f}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  return { cert: read(t.certFile, "certificate"), key: read(t.keyFile, "key") };
}

export interface ListenAddress {
  /** The host to bind ("" when the address is all interfaces, as in ":9465"). */
  readonly host: string;
  readonly port: number;
  /** Only reachable from this machine. */
  readonly loopback: boolean;
}

export const DEFAULT_LISTEN = "127.0.0.1:9465";

/** `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (all interfaces). Port 0 asks the kernel for a free port. */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) throw new UsageError(`--listen: ${JSON.stringify(text)} is not HOST:PORT, [IPV6]:PORT or :PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError(`--listen: port ${port} is out of range (0-65535)`);
  const host = m[1] ?? m[2] ?? "";
  if (m[1] !== undefined && net.isIPv6(host) === false) throw new UsageError(`--listen: ${host} is not an IPv6 address`);
  return { host, port, loopback: isLoopback(host) };
}

/** 127.0.0.0/8, ::1 and "localhost" are loopback; names other than localhost are not assumed to be. */
export function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped !== null && mapped[1]!.startsWith("127.");
}
