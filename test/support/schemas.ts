/**
 * Validating real --json output against schemas/*.schema.json (draft 2020-12)
 * with Ajv in strict mode: a document with a field the schema does not
 * describe, a missing field or a wrong type fails, naming the path.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The repository root (tests run from dist/test/...). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

interface Validate {
  (doc: unknown): boolean;
  errors?: readonly { instancePath: string; message?: string; params?: unknown }[] | null;
}
interface AjvLike {
  compile(schema: object): Validate;
}

// Ajv is CommonJS; its 2020-12 class is the module's export.
const require = createRequire(import.meta.url);
const Ajv2020 = require("ajv/dist/2020.js") as { default: new (o: object) => AjvLike };
const ajv = new Ajv2020.default({ strict: true, allErrors: true, allowUnionTypes: true });
const compiled = new Map<string, Validate>();

export function schemaNames(): string[] {
  return fs
    .readdirSync(path.join(REPO, "schemas"))
    .filter((f) => f.endsWith(".schema.json"))
    .map((f) => f.slice(0, -".schema.json".length))
    .sort();
}

/** Validate `text` (one command's stdout) against schemas/<name>.schema.json; throws with every error. */
export function assertMatchesSchema(name: string, text: string, what: string): void {
  let v = compiled.get(name);
  if (!v) {
    v = ajv.compile(JSON.parse(fs.readFileSync(path.join(REPO, "schemas", `${name}.schema.json`), "utf8")) as object);
    compiled.set(name, v);
  }
  const doc = JSON.parse(text) as unknown;
  if (!v(doc)) {
    const errs = (v.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || "/"}: ${e.message ?? ""} ${JSON.stringify(e.params)}`);
    throw new Error(`${what}: does not match schemas/${name}.schema.json:\n  ${errs.join("\n  ")}`);
  }
}

/**
 * Every command's --json invocations worth checking, as [schema, args]. `pid` is a process with
 * memory; `file` a file for `pagelens file` (which reads the live page cache: live tests only).
 */
export function jsonInvocations(pid: number, file?: string): [string, string[]][] {
  return [
    ["ps", ["ps", "--json"]],
    ["ps", ["ps", "--json", "--all", "--exact"]],
    ["maps", ["maps", String(pid), "--json"]],
    ["pages", ["pages", String(pid), "--json"]],
    ["pages", ["pages", String(pid), "--json", "--each", "--raw"]],
    ["flags", ["flags", "--json"]],
    ["flags", ["flags", "--json", "--pid", String(pid), "--list"]],
    ["flags-describe", ["flags", "--describe", "anon,lru", "--json"]],
    ["libs", ["libs", "--json"]],
    ["shares", ["shares", "--json", "--groups"]],
    ["groups", ["groups", "--json"]],
    ["groups", ["groups", "--json", "--charges"]],
    ["groups", ["groups", "--json", "--by", "tree"]],
    ["system", ["system", "--json"]],
    ["kernel", ["kernel", "--json"]],
    ["report", ["report", "--json", "-o", "-"]],
    ...(file === undefined ? [] : ([["file", ["file", file, "--json"]]] as [string, string[]][])),
  ];
}
