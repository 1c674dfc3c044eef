module.exports = require('../jest.preset.cjs')(__dirname, {
  testMatch: ['<rootDir>/**/*.test.ts'],
  testTimeout: 60_000,
  globalSetup: '<rootDir>/setup/global-setup.ts',
  globalTeardown: '<rootDir>/setup/global-teardown.ts',
});
