// Type-level checks of the public options, compiled as a user's project compiles them: against the
// built declarations (dist, built before tests), with exactOptionalPropertyTypes.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const tsc = require.resolve('typescript/bin/tsc');

test('every optional option accepts undefined under exactOptionalPropertyTypes', async () => {
  const run = promisify(execFile)(process.execPath, [tsc, '-p', join(__dirname, 'types', 'tsconfig.json')]);
  await expect(run.catch((error: { stdout?: string }) => Promise.reject(new Error(error.stdout)))).resolves.toBeDefined();
}, 60_000);
