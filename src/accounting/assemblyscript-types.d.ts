/**
 * AssemblyScript's integer types as TypeScript sees them. A file compiled by
 * both tsc and asc (accounting/page-class.ts: the page-class rule that the
 * reports and the WebAssembly accounting loop share) spells its parameter
 * types this way: asc reads them as 32-bit integers, tsc as numbers.
 */
type u32 = number;
type i32 = number;
