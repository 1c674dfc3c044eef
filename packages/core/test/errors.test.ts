import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, GraylaneError, isGraylaneError } from '../src/index.js';

const page = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'reference', 'errors.md'), 'utf8');
const documented = new Set([...page.matchAll(/^\| `(GRAYLANE_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));

describe('GraylaneError', () => {
  test('every code has an entry in docs/reference/errors.md, and every entry a code', () => {
    expect(new Set(Object.values(ErrorCode))).toEqual(documented);
  });

  test('carries code, message, details and cause', () => {
    const cause = new Error('socket hang up');
    const error = new GraylaneError(ErrorCode.NO_INSTANCE, 'no instance of c', { details: { service: 'c' }, cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('GRAYLANE_ERR_NO_INSTANCE');
    expect(error.details).toEqual({ service: 'c' });
    expect(error.cause).toBe(cause);
    expect(String(error)).toBe('GraylaneError [GRAYLANE_ERR_NO_INSTANCE]: no instance of c');
  });

  test('is recognised across copies of the package through its Symbol.for brand', () => {
    const foreign = Object.create(Error.prototype, { [Symbol.for('graylane.error')]: { value: true } });
    expect(isGraylaneError(foreign)).toBe(true);
    expect(foreign instanceof GraylaneError).toBe(true);
    expect(isGraylaneError(new Error('plain'))).toBe(false);
    expect(isGraylaneError(null)).toBe(false);
    expect(isGraylaneError('GRAYLANE_ERR_NO_INSTANCE')).toBe(false);
  });
});
