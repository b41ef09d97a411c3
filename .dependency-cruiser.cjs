/**
 * The shape of src/, checked by `npm run lint` (dependency-cruiser). Each
 * rule is one arrow of docs/architecture.md that must not be drawn; type-only
 * imports count, since they couple what the modules mean.
 *
 * Layers, lowest first: errors.ts; procfs/, parse/, decode/ (reading and pure
 * decoding); kernel/, native/; accounting/ (pure page maths); scan/; analysis/,
 * report/ (pure: scan in, data out); render/ (pure: data in, text out);
 * views/ (source and options in, report data out); cli/.
 *
 * Arrows drawn before a rule existed are listed in
 * .dependency-cruiser-known-violations.json (regenerate with
 * `npx depcruise-baseline src --config .dependency-cruiser.cjs --output-to
 * .dependency-cruiser-known-violations.json` only when one is removed): they
 * are the remaining work, and a new one fails `npm run lint`.
 */
const layer = (name) => `^src/${name}/`;

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle: the modules can be neither understood, tested nor loaded apart.",
      from: {},
      to: { circular: true },
    },
    {
      name: "pure-parsers",
      severity: "error",
      comment: "parse/ and decode/ are pure functions over text and bytes: they read nothing and know no layer above.",
      from: { path: "^src/(parse|decode)/" },
      to: { path: "^src/(procfs|kernel|native|accounting|scan|analysis|report|render|cli)/" },
    },
    {
      name: "procfs-reads-only",
      severity: "error",
      comment: "procfs/ builds paths and reads bytes; what the bytes mean is for the layers above.",
      from: { path: layer("procfs") },
      to: { path: "^src/(kernel|native|accounting|scan|analysis|report|render|cli)/" },
    },
    {
      name: "accounting-is-pure-maths",
      severity: "error",
      comment: "accounting/ is pure maths over decoded arrays: it reads nothing and knows nothing of how the arrays were filled.",
      from: { path: layer("accounting") },
      to: { path: "^src/(procfs|kernel|native|scan|analysis|report|render|cli)/" },
    },
    {
      name: "scan-below-reports",
      severity: "error",
      comment: "scan/ produces the data reports read; an arrow up from scan/ to report/ or render/ makes the two one tangle.",
      from: { path: layer("scan") },
      to: { path: "^src/(analysis|report|render|cli)/" },
    },
    {
      name: "reports-read-no-files",
      severity: "error",
      comment: "report/ and analysis/ are pure: scan in, data out. They never read /proc or call the kernel.",
      from: { path: "^src/(analysis|report)/" },
      to: { path: "^src/(procfs|render|cli)/" },
    },
    {
      name: "reports-read-scan-data",
      severity: "error",
      comment:
        "Reports read the scan as plain data (scan/scan-data.ts), never the machinery that fills it, so a report is the same from a decoded scan (scan/scan-codec.ts) as from a live one.",
      from: { path: "^src/(analysis|report)/" },
      to: { path: "^src/scan/(system-scan|scanner|entry-store|kpage-lookup|kpage-index|pagemap-|walk-wasm|wasm-)" },
    },
    {
      name: "renderers-are-pure",
      severity: "error",
      comment: "render/ turns report data into text; it reads nothing and scans nothing.",
      from: { path: layer("render") },
      to: { path: "^src/(procfs|kernel|native|accounting|scan|analysis|cli)/" },
    },
    {
      name: "views-on-top",
      severity: "error",
      comment: "A view assembles a report from the layers below; only the CLI and the library entry point call views.",
      from: { path: "^src/", pathNot: "^src/(views|cli)/|^src/index\\.ts$" },
      to: { path: "^src/views/" },
    },
    {
      name: "library-without-cli",
      severity: "error",
      comment: "Only the CLI imports the CLI: the library entry point (src/index.ts) must load without commander and the commands.",
      from: { pathNot: "^src/cli/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "page-is-browser-code",
      severity: "error",
      comment: "src/html/ is the HTML report's page, bundled for the browser: it may use the report types and pure helpers (render/safe-text, the class bits of report/address-map), never code that reads /proc or needs Node.",
      from: { path: "^src/html/" },
      to: { path: "^src/(procfs|kernel|native|scan|analysis|views|cli|capture)/|^node:|^(fs|path|os|child_process)$" },
    },
    {
      name: "only-the-page-is-browser-code",
      severity: "error",
      comment: "Nothing else loads the page's modules (they touch document and window); the CLI inlines their bundle (dist/web/page.js).",
      from: { pathNot: "^src/html/" },
      to: { path: "^src/html/" },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
  },
};
