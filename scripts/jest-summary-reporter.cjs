// Writes one small JSON file per jest run so scripts/run-tests.mjs can print a single
// "N passed, N failed" line summing every workspace's suites.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }
  onRunComplete(_contexts, results) {
    const root = path.join(__dirname, '..');
    const out = path.join(root, '.test-results');
    // What failed, in a few lines each, so that the end of a long CI log names it.
    const failures = [];
    for (const file of results.testResults) {
      const where = path.relative(root, file.testFilePath);
      if (file.testExecError) failures.push({ where, title: '(the suite failed to run)', message: firstLines(file.testExecError.message) });
      for (const test of file.testResults) {
        if (test.status === 'failed') failures.push({ where, title: test.fullName, message: firstLines(test.failureMessages[0]) });
      }
    }
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
        failures,
      }),
    );
  }
}
/** The first lines of a failure message, without colour codes or stack frames. */
function firstLines(text = '', count = 6) {
  return String(text)
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^\s+at /.test(line))
    .slice(0, count)
    .join('\n');
}

module.exports = SummaryReporter;
