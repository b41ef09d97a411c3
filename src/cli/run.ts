/**
 * The command line: `run(argv, io)` parses arguments with commander, runs one
 * command and returns the exit code. It never calls process.exit and never
 * lets a stack trace reach the user (set PAGELENS_DEBUG=1 to see one).
 */
import { Command, CommanderError, Option } from "commander";
import { PagelensError, UsageError } from "../errors.js";
import { MAPS_SORT_KEYS } from "../report/maps-report.js";
import { SORT_KEYS, type SortKey } from "../report/process-report.js";
import type { Unit } from "../render/units.js";
import { UNITS } from "../render/units.js";
import { COMMAND_WIDTH } from "../render/ps-render.js";
import { safeText } from "../render/safe-text.js";
import { makeContext, type GlobalOptions } from "./context.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import type { CliIo } from "./io.js";
import { parseAddressRange, parsePid, parsePidList, parseRegex, parseUnit } from "./options.js";
import { psCommand } from "./commands/ps.js";
import { mapsCommand, type MapsCommandOptions } from "./commands/maps.js";
import { WIDE_HELP } from "./commands/output.js";
import { pagesCommand, type PagesCommandOptions } from "./commands/pages.js";
import { registerFlagsCommand } from "./commands/flags.js";
import { registerLibsCommand } from "./commands/libs.js";
import { registerSharesCommand } from "./commands/shares.js";
import { registerGroupsCommand } from "./commands/groups.js";
import { registerFileCommand } from "./commands/file.js";
import { registerSystemCommand } from "./commands/system.js";
import { registerKernelCommand } from "./commands/kernel.js";
import { registerWssCommand } from "./commands/wss.js";
import { registerServeCommand } from "./commands/serve.js";
import { registerTopCommand } from "./commands/top.js";
import { registerCaptureCommand } from "./commands/capture.js";
import { registerDiffCommand } from "./commands/diff.js";
import { registerReportCommand } from "./commands/report.js";

export const VERSION = "0.1.0";

/** Wrap a value parser so that its UsageError becomes commander's invalid-argument error. */
function valueParser<T>(fn: (text: string) => T): (text: string) => T {
  return fn;
}

const unitOption = (): Option => new Option("--units <unit>", `size units: ${UNITS.join(", ")}`).default("human").argParser(valueParser(parseUnit));

/**
 * The command definitions: every command, option and argument. run() parses
 * with it; scripts/gen-docs.mjs writes the man page and the shell completions
 * from it, so they cannot drift from what the program accepts.
 */
export function buildProgram(io: CliIo, setCode: (n: number) => void): Command {
  const program = new Command("pagelens")
    .description("Where a Linux machine's memory goes, page by page, read from /proc page tables.")
    .version(VERSION)
    .option("--root <dir>", "procfs root to read (a live /proc, a fixture tree or a capture)", "/proc")
    .option("--sys-root <dir>", "sysfs root (default /sys when --root is /proc)")
    .option("--passwd <file>", "passwd file for user names (default /etc/passwd)")
    .addOption(new Option("--from <file>", "read a capture (from pagelens capture) instead of /proc: every command answers as the machine did then").conflicts(["root", "sysRoot"]))
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      `
Page-level numbers need root (kpagecount/kpageflags are root-only, pagemap PFNs need CAP_SYS_ADMIN);
without it pagelens uses smaps_rollup and says what is missing. "pagelens kernel" lists what this kernel offers.

Exit codes: 0 ok, 1 internal error, 2 bad command line, 3 unreadable or malformed input
(a command over many processes still prints the others), 4 no such process, 5 permission denied,
6 output could not be written (a closed pipe is a success). See man pagelens.
Environment: PAGELENS_TRACE=1 (scan phase timings on stderr), PAGELENS_DEBUG=1 (stack traces of
internal errors).`,
    )
    .exitOverride()
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      outputError: (str, write) => write(str.startsWith("error:") ? `pagelens: ${str}` : str),
    });
  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals() as GlobalOptions;

  program
    .command("ps", { isDefault: true })
    .description("every process: VSS, RSS, PSS, USS and swap, largest PSS first")
    .addOption(new Option("--sort <key>", "sort key").choices(SORT_KEYS).default("pss"))
    .option("--reverse", "reverse the sort order", false)
    .option("--pid <list>", "only these pids (comma-separated)", (t: string) => parsePidList(t))
    .option("--user <name>", "only processes of this user (name or uid)")
    .option("--command <regex>", "only processes whose name or command line matches", (t: string) => parseRegex(t, "--command"))
    .option("--all", "also list kernel threads and zombies (no user memory)", false)
    .option("--exact", "look every page up in kpagecount (slower; never settle pages from pagemap bits)", false)
    .addOption(unitOption())
    .option("--json", "print one JSON document (sizes in bytes)", false)
    .option("--csv", "print CSV (sizes in bytes)", false)
    .option("--wide", `do not cut commands longer than ${COMMAND_WIDTH} characters in the table`, false)
    .action(async function (this: Command) {
      const o = this.opts() as { sort: SortKey; reverse: boolean; pid?: number[]; user?: string; command?: RegExp; all: boolean; exact: boolean; units: Unit; json: boolean; csv: boolean; wide: boolean };
      if (o.json && o.csv) throw new UsageError("--json and --csv cannot be used together");
      setCode(await psCommand(makeContext(globals(this), io), o));
    });

  program
    .command("maps")
    .description("one process, mapping by mapping (like procmem, showmap, pmap -X)")
    .argument("<pid>", "process id", valueParser((t: string) => parsePid(t)))
    .option("--exact", "look every page up in kpagecount", false)
    .addOption(new Option("--sort <key>", "sort key (default: address order)").choices(MAPS_SORT_KEYS))
    .option("--reverse", "reverse the sort order", false)
    .addOption(unitOption())
    .option("--json", "print one JSON document (sizes in bytes)", false)
    .option("--csv", "print CSV, one row per mapping (sizes in bytes)", false)
    .option("--wide", WIDE_HELP, false)
    .action(async function (this: Command, pid: number) {
      const o = this.opts() as MapsCommandOptions;
      setCode(await mapsCommand(makeContext(globals(this), io), pid, o));
    });

  program
    .command("pages")
    .description("one process, page by page (like page-types -p PID -l / -L)")
    .argument("<pid>", "process id", valueParser((t: string) => parsePid(t)))
    .option("--addr <start-end>", "only this virtual address range (hex, end exclusive)", valueParser(parseAddressRange))
    .option("--each", "one row per page instead of folding runs of alike pages", false)
    .option("--raw", "raw flags: kernel-hacker bits and page-types' expanded overloaded bits", false)
    .option("--json", "print one JSON document", false)
    .option("--csv", "print CSV, one row per run of pages (or per page with --each)", false)
    .option("--wide", WIDE_HELP, false)
    .action(function (this: Command, pid: number) {
      const o = this.opts() as PagesCommandOptions;
      setCode(pagesCommand(makeContext(globals(this), io), pid, o));
    });

  registerFlagsCommand(program, io, setCode);
  registerLibsCommand(program, io, setCode);
  registerSharesCommand(program, io, setCode);
  registerGroupsCommand(program, io, setCode);
  registerFileCommand(program, io, setCode);
  registerSystemCommand(program, io, setCode);
  registerKernelCommand(program, io, setCode);
  registerWssCommand(program, io, setCode);
  registerServeCommand(program, io, setCode, VERSION);
  registerTopCommand(program, io, setCode);
  registerCaptureCommand(program, io, setCode, VERSION);
  registerDiffCommand(program, io, setCode);
  registerReportCommand(program, io, setCode, VERSION);

  return program;
}

/**
 * The first operand, skipping options and their values. `ps` is the default
 * command and takes no operands, so an operand that names no command is a
 * misspelt command: say so, rather than commander's "too many arguments for 'ps'".
 */
function unknownCommand(program: Command, argv: readonly string[]): string | undefined {
  const fallback = program.commands.find((c) => c.name() === "ps");
  const withValue = new Set(
    [...program.options, ...(fallback?.options ?? [])].filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((f): f is string => !!f)),
  );
  const names = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return undefined;
    if (withValue.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith("-")) continue;
    return names.has(a) || a === "help" ? undefined : a;
  }
  return undefined;
}

export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (n) => {
    code = n;
  });
  const unknown = unknownCommand(program, argv);
  if (unknown !== undefined) {
    const names = program.commands.map((c) => c.name()).join(", ");
    io.stderr(`pagelens: unknown command '${safeText(unknown)}' (commands: ${names}; run with --help for usage)\n`);
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return EXIT.ok;
      // commander has already printed the message; a UsageError from an option parser arrives wrapped.
      return EXIT.usage;
    }
    if (err instanceof PagelensError) {
      // Messages name files and processes, which anyone can name: shown, never obeyed.
      io.stderr(`pagelens: ${safeText(err.message)}\n`);
      return exitCodeFor(err);
    }
    io.stderr(`pagelens: internal error: ${safeText(err instanceof Error ? err.message : String(err))}\n`);
    if (io.env["PAGELENS_DEBUG"]) io.stderr(`${err instanceof Error ? err.stack : ""}\n`);
    return EXIT.internal;
  }
}

/** The command names, for the bin loader's per-command code cache (written into it by scripts/bundle.mjs). */
export function commandNames(): string[] {
  const quiet: CliIo = { stdout: () => undefined, stderr: () => undefined, stderrIsTty: false, env: {} };
  return buildProgram(quiet, () => undefined).commands.map((c) => c.name());
}
