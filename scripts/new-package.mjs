#!/usr/bin/env node
// Scaffolds packages/<name> with the repository's package layout (dual ESM/CJS via tsup, jest).
// Usage: node scripts/new-package.mjs <name> "<description>"
import { copyFileSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [name, description = ''] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: node scripts/new-package.mjs <name> "<description>"');
  process.exit(2);
}
const dir = join('packages', name);
if (existsSync(dir)) {
  console.error(`${dir} exists`);
  process.exit(1);
}
mkdirSync(join(dir, 'src'), { recursive: true });
mkdirSync(join(dir, 'test'), { recursive: true });
const pkg = {
  name: `@graylane/${name}`,
  version: '0.1.0',
  description,
  license: 'Apache-2.0',
  repository: { type: 'git', url: 'git+https://github.com/graylane/graylane.git', directory: `packages/${name}` },
  homepage: `https://github.com/graylane/graylane/tree/main/packages/${name}#readme`,
  bugs: { url: 'https://github.com/graylane/graylane/issues' },
  type: 'module',
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.cts',
  exports: {
    '.': {
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  },
  files: ['dist', 'README.md', 'LICENSE'],
  engines: { node: '>=20.6' },
  sideEffects: false,
  scripts: { build: 'tsup', typecheck: 'tsc --noEmit -p .', test: 'jest' },
  dependencies: {},
};
writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
writeFileSync(
  join(dir, 'tsconfig.json'),
  JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { rootDir: '.', outDir: 'dist', types: ['node', 'jest'] }, include: ['src', 'test'] }, null, 2) + '\n',
);
writeFileSync(
  join(dir, 'tsup.config.ts'),
  `import { defineConfig } from 'tsup';\n\nexport default defineConfig({\n  entry: ['src/index.ts'],\n  format: ['esm', 'cjs'],\n  dts: true,\n  sourcemap: true,\n  clean: true,\n  target: 'node20',\n});\n`,
);
writeFileSync(join(dir, 'jest.config.cjs'), `module.exports = require('../../jest.preset.cjs')(__dirname);\n`);
copyFileSync('LICENSE', join(dir, 'LICENSE')); // test/consumer checks every tarball has it
writeFileSync(join(dir, 'README.md'), `# @graylane/${name}\n\n${description}\n`);
writeFileSync(join(dir, 'src', 'index.ts'), `export {};\n`);
console.log(`created ${dir}`);
