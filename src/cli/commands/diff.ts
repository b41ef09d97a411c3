import type { Command } from "commander";
import type { CliIo } from "../io.js";
export function registerDiffCommand(_program: Command, _io: CliIo, _setCode: (n: number) => void): void {}
