import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('package dependency edges follow docs/adr/0001-package-layout.md (scripts/check-deps.mjs)', () => {
  const result = spawnSync(process.execPath, [join(__dirname, '..', '..', 'scripts', 'check-deps.mjs')], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
});
