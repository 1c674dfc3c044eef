// The lint gate (`npm run lint`, part of `npm test`): a small rule set that matters, on every
// TypeScript file of the workspaces, tests included. Type-aware (no-floating-promises needs the
// types), so each file is read through the tsconfig of its workspace (typescript-eslint's project service).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/.turbo/**', '**/coverage/**', '**/tsup.config.ts', 'tsup.library.ts', 'test/java-service/**', 'test/consumer/fixtures/**', 'scripts/**'],
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    rules: {
      // A type imported as a value survives in the emitted JavaScript and may load a module for nothing.
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', disallowTypeAnnotations: false }],
      // A promise nobody awaits or catches loses its rejection (an unhandled rejection ends the process).
      '@typescript-eslint/no-floating-promises': 'error',
      // Every export is named in the package's index (CONVENTIONS.md, "Public surface").
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'no `export *`: name every export (CONVENTIONS.md, "Public surface")' }],
    },
  },
);
