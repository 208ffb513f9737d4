// Prints the suite's closing line in the plain form any CI reader understands
// ("tests: N passed, N failed, N skipped"), from the JSON report vitest wrote beside its
// usual output. Vitest's own summary is coloured and laid out for people.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.error(`test summary: no vitest report at ${file} (${err.message})`);
  process.exit(1);
}
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
