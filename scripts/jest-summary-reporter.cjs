// Writes one small JSON file per jest run so scripts/run-tests.mjs can print a single
// "N passed, N failed" line summing every workspace's suites.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }
  onRunComplete(_contexts, results) {
    const out = path.join(__dirname, '..', '.test-results');
    fs.mkdirSync(out, { recursive: true });
    const name = path.relative(path.join(__dirname, '..'), this.rootDir).replace(/[\\/]/g, '__') || 'root';
    fs.writeFileSync(
      path.join(out, `${name}.json`),
      JSON.stringify({
        workspace: name,
        passed: results.numPassedTests,
        failed: results.numFailedTests,
        skipped: results.numPendingTests + results.numTodoTests,
        suitesFailed: results.numFailedTestSuites + (results.numRuntimeErrorTestSuites ?? 0),
      }),
    );
  }
}
module.exports = SummaryReporter;
