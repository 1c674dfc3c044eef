import fc from 'fast-check';
import { ErrorCode, type Instance } from '@graylane/core';
import { buildLaneIndex, compilePolicy, selectFromIndex } from '../src/index.js';

const LANES = ['gray', 'rc', 'blue', 'feature-x'] as const;
const lane = fc.constantFrom<string | undefined>(undefined, ...LANES);

const fleet = fc.array(
  fc.record({ lane, healthy: fc.boolean(), enabled: fc.boolean(), weight: fc.constantFrom(0, 1, 2.5) }),
  { maxLength: 12 },
).map((specs) =>
  specs.map(
    (spec, i): Instance => ({ id: `h:${i}`, service: 'svc', host: 'h', port: i + 1, metadata: {}, ...spec }),
  ),
);

const usable = (instances: readonly Instance[], l: string | undefined) =>
  instances.some((i) => i.lane === l && i.healthy && i.enabled);

describe('selectFromIndex properties', () => {
  it('serves the first usable lane of requested → chain → base, never another lane or an unusable instance', () => {
    fc.assert(
      fc.property(fleet, lane, fc.subarray([...LANES]), fc.boolean(), (instances, requested, chain, strict) => {
        const policy = compilePolicy({
          fallback: requested ? { [requested]: chain } : {},
          strict: strict && requested ? [requested] : [],
        });
        const path = requested === undefined ? [undefined] : strict ? [requested] : [requested, ...chain.filter((l) => l !== requested), undefined];
        const served = path.findIndex((l) => usable(instances, l)); // -1: nothing may serve
        const index = buildLaneIndex(instances, { service: 'svc' });
        for (let k = 0; k < 5; k++) {
          if (served === -1) {
            const code = strict && requested !== undefined ? ErrorCode.STRICT_LANE : ErrorCode.NO_INSTANCE;
            expect(() => selectFromIndex(index, requested, policy)).toThrow(expect.objectContaining({ code }));
            continue;
          }
          const selection = selectFromIndex(index, requested, policy);
          expect(selection.servedLane).toBe(path[served]);
          expect(selection.instance.lane).toBe(path[served]);
          expect(selection.instance.healthy && selection.instance.enabled).toBe(true);
          expect(selection.fallback.map((step) => (step.lane === 'base' ? undefined : step.lane))).toEqual(path.slice(0, served));
        }
      }),
      { numRuns: 500 },
    );
  });
});
