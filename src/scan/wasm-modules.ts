/**
 * The WebAssembly modules built from wasm/ (AssemblyScript) into dist/wasm:
 * found from the library (dist/src/scan) or the bundled CLI (dist/bin), and
 * compiled once per process.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = new Map<string, WebAssembly.Module>();

function moduleFile(name: string): string {
  for (const rel of [`../../wasm/${name}`, `../wasm/${name}`]) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(file)) return file;
  }
  throw new Error(`pagelens is not fully built: dist/wasm/${name} is missing (run \`npm run build\`)`);
}

/** The compiled module `name` (e.g. "kpages.wasm"). */
export function wasmModule(name: string): WebAssembly.Module {
  let m = compiled.get(name);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(moduleFile(name)));
    compiled.set(name, m);
  }
  return m;
}
