import fc from 'fast-check';
import { RE2JS } from 're2js';
import { compileRegex, RegexTable, SharedArrays, shareProgramArrays } from '../src/compile/regex.js';
import type { RuleRegex } from '../src/compile/regex.js';

interface Instruction {
  readonly runes: unknown;
  readonly next: unknown;
}

/** The instructions of a compiled regex's programs, as RE2JS 2.10.0 holds them (see shareProgramArrays). */
function instructions(regex: RuleRegex | string): Instruction[] {
  if (typeof regex === 'string') throw new Error(regex);
  const re2 = (regex as RE2JS).re2() as unknown as Record<'prog' | 'onepass', { inst: Instruction[] } | null>;
  return [...(re2.prog?.inst ?? []), ...(re2.onepass?.inst ?? [])];
}

/** The runes array of the first instruction whose runes are exactly `runes`. */
function runesOf(regex: RuleRegex | string, runes: readonly number[]): unknown {
  const same = (r: unknown) => ArrayBuffer.isView(r) && Array.from(r as Int32Array).join() === runes.join();
  const found = instructions(regex).find((inst) => same(inst.runes));
  if (!found) throw new Error(`no instruction with runes ${runes.join()}`);
  return found.runes;
}

describe('regexes of one compile share their programs’ equal arrays', () => {
  it('gives two patterns of one table one array for the same class, and other tables their own', () => {
    const table = new RegexTable();
    const first = table.get('^a-[a-z]+$');
    const second = table.get('^b-[a-z]+$');
    expect(runesOf(second, [97, 122])).toBe(runesOf(first, [97, 122]));

    const other = new RegexTable().get('^c-[a-z]+$');
    expect(runesOf(other, [97, 122])).not.toBe(runesOf(first, [97, 122]));
    // Each still decides as its own pattern says.
    expect([first, second, other].map((regex) => (regex as RuleRegex).test('b-xyz'))).toEqual([false, true, false]);
  });

  it('shares nearly every array of a second pattern of the same shape', () => {
    const shared = new SharedArrays();
    compileRegex('^env-1-[a-z]+$', shared);
    const distinct = shared.size;
    const second = compileRegex('^env-2-[a-z]+$', shared);
    // Only the arrays the new digit needs are new ones.
    expect(shared.size - distinct).toBeLessThanOrEqual(3);
    expect(instructions(second).length).toBeGreaterThan(20);
  });

  it('leaves a regex whose parts are not shaped as RE2JS 2.10.0 makes them as it is', () => {
    const shared = new SharedArrays();
    for (const re2 of [null, undefined, 1, {}, { prog: null, onepass: { inst: 'x' } }, { prog: { inst: [null, 3, { runes: 'abc' }] } }]) {
      const fake = { re2: () => re2 } as unknown as RE2JS;
      expect(shareProgramArrays(fake, shared)).toBe(0);
    }
    expect(shared.size).toBe(0);
  });
});

describe('SharedArrays', () => {
  it('keeps arrays of different kinds apart and passes anything else through', () => {
    const shared = new SharedArrays();
    const int32 = new Int32Array([1, 2]);
    const uint32 = new Uint32Array([1, 2]);
    const plain = [1, 2];
    expect(shared.share(int32)).toBe(int32);
    expect(shared.share(uint32)).toBe(uint32);
    expect(shared.share(plain)).toBe(plain);
    expect(shared.share(new Int32Array([1, 2]))).toBe(int32);
    expect(shared.share([1, 2])).toBe(plain);
    expect(shared.share(new Int32Array([1, 2, 3]))).not.toBe(int32);
    expect(shared.share(new Int32Array(0))).toBe(shared.share(new Int32Array(0)));
    const mixed = ['1', 2];
    expect(shared.share(mixed)).toBe(mixed);
    expect(shared.share(['1', 2])).not.toBe(mixed);
    const view = new DataView(new ArrayBuffer(2));
    expect(shared.share(view)).toBe(view);
    expect(shared.share('1,2')).toBe('1,2');
  });
});

// Patterns from RE2 syntax that exercises every kind of instruction a compiled program has: runes
// (with and without case folding), classes, any-character, empty-width assertions, alternation,
// repetition and captures; characters outside the BMP and Latin-1 included.
const char = fc.constantFrom('a', 'b', 'B', 'x', '-', '1', 'é', 'ß', 'K', '😀', ' ');
const atom: fc.Arbitrary<string> = fc.oneof(
  char,
  fc.constantFrom('.', '[a-c]', '[^b]', '[a-zA-Z0-9_-]', '\\d', '\\w', '\\s', '\\pL', '[é-ü]', '[😀-😂]'),
);
const group = fc
  .tuple(fc.array(atom, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([atoms, capture]) => `(${capture ? '' : '?:'}${atoms.join('')})`);
const quantified = fc
  .tuple(fc.oneof(atom, group), fc.constantFrom('', '', '*', '+', '?', '{1,3}', '*?', '{2}'))
  .map(([a, q]) => a + q);
const branch = fc
  .array(fc.oneof(quantified, fc.constantFrom('\\b', '\\B')), { minLength: 1, maxLength: 5 })
  .map((parts) => parts.join(''));
const pattern = fc
  .tuple(fc.constantFrom('', '(?i)', '(?s)'), fc.boolean(), fc.array(branch, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([flags, start, branches, end]) => {
    const body = branches.length > 1 ? `(?:${branches.join('|')})` : branches[0];
    return `${flags}${start ? '^' : ''}${body}${end ? '$' : ''}`;
  });
const input = fc
  .array(fc.constantFrom('a', 'A', 'b', 'B', 'x', '-', '1', 'é', 'É', 'ß', 'k', '😀', ' ', '\n', '_'), { maxLength: 10 })
  .map((cs) => cs.join(''));

describe('sharing arrays changes no decision', () => {
  it('decides as RE2JS on its own for patterns compiled together, tested after all of them are compiled', () => {
    fc.assert(
      fc.property(
        fc.array(pattern, { minLength: 2, maxLength: 10 }),
        fc.array(input, { minLength: 1, maxLength: 12 }),
        (patterns, inputs) => {
          const shared = new SharedArrays();
          // All compiled first: a later compile writing into an array an earlier regex shares would show.
          const together = patterns.map((p) => compileRegex(p, shared));
          patterns.forEach((p, i) => {
            let alone: RE2JS | undefined;
            try {
              alone = RE2JS.compile(p);
            } catch {
              alone = undefined;
            }
            const regex = together[i]!;
            expect(typeof regex === 'string').toBe(alone === undefined);
            if (typeof regex === 'string' || alone === undefined) return;
            for (const text of inputs) expect([p, text, regex.test(text)]).toEqual([p, text, alone.test(text)]);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
