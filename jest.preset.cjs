// Shared jest configuration for every workspace. Tests run against the TypeScript sources of
// sibling packages (no build needed for unit tests); end-to-end suites spawn the built output.
const path = require('node:path');

const root = __dirname;

/** @param {string} dir the workspace directory (pass __dirname) */
module.exports = function preset(dir, overrides = {}) {
  return {
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: {
      '^.+\\.(t|j)sx?$': [
        '@swc/jest',
        {
          jsc: {
            target: 'es2022',
            parser: { syntax: 'typescript', decorators: true },
            transform: { legacyDecorator: true, decoratorMetadata: true },
          },
          module: { type: 'commonjs' },
        },
      ],
    },
    moduleNameMapper: {
      '^@graylane/([a-z0-9-]+)$': path.join(root, 'packages/$1/src/index.ts'),
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    reporters: ['default', path.join(root, 'scripts/jest-summary-reporter.cjs')],
    // A leaked handle must never hang CI: jest exits when the suites are done (and says so).
    forceExit: true,
    ...overrides,
  };
};
