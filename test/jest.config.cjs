module.exports = require('../jest.preset.cjs')(__dirname, {
  testMatch: ['<rootDir>/**/*.test.ts'],
  // test/consumer is a workspace of its own (packs and installs the packages; its own jest config).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/consumer/'],
  testTimeout: 60_000,
  globalSetup: '<rootDir>/setup/global-setup.ts',
  globalTeardown: '<rootDir>/setup/global-teardown.ts',
});
