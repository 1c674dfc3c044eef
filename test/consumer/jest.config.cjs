// The consumer suites pack, install, compile and run real projects: minutes, not seconds.
module.exports = require('../../jest.preset.cjs')(__dirname, {
  testTimeout: 300_000,
  globalSetup: '<rootDir>/test/global-setup.cjs',
  globalTeardown: '<rootDir>/test/global-teardown.cjs',
});
