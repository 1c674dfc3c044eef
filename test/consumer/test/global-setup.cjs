// Packs every publishable package once per run, as `npm run pack:all -- --no-build` does (turbo has
// built them: this workspace depends on all of them). The suites read the tarballs from
// GRAYLANE_CONSUMER_PACKS; the folder is removed by global-teardown.cjs.
const { execFileSync } = require('node:child_process');
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  const work = mkdtempSync(join(tmpdir(), 'graylane-consumer-'));
  const dest = join(work, 'packs');
  const root = join(__dirname, '..', '..', '..');
  const started = Date.now();
  const out = execFileSync('node', [join(root, 'scripts', 'pack.mjs'), '--no-build', '--dest', dest], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = out.trim().split('\n').pop() ?? '';
  if (!line.startsWith('npm install ')) throw new Error(`pack.mjs printed no install line: ${out}`);
  process.env.GRAYLANE_CONSUMER_WORK = work;
  process.env.GRAYLANE_CONSUMER_PACKS = dest;
  process.env.GRAYLANE_CONSUMER_INSTALL = line;
  console.log(`\npacked in ${Date.now() - started} ms into ${dest}`);
};
