import { context, propagation } from '@opentelemetry/api';
import { ensureContextManager, getLane, setIntervalInLane, setTimeoutInLane, withLane } from '@graylane/context';

beforeAll(() => ensureContextManager());
afterAll(() => context.disable());

function waitFor(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = (): void => {
      if (check()) resolve();
      else setImmediate(poll);
    };
    poll();
  });
}

describe('setTimeoutInLane / setIntervalInLane', () => {
  it('runs a timeout in the lane it is given, not the lane that scheduled it', async () => {
    const seen: Array<string | undefined> = [];
    withLane('gray', () => setTimeoutInLane('blue', () => seen.push(getLane()), 1));
    withLane(undefined, () => setTimeoutInLane('gray', () => seen.push(getLane()), 1));
    await waitFor(() => seen.length === 2);
    expect(seen.sort()).toEqual(['blue', 'gray']);
  });

  it('runs in base (clearing an inherited lane) for undefined, base and an invalid lane', async () => {
    const seen: Array<string | undefined> = [];
    withLane('gray', () => {
      setTimeoutInLane(undefined, () => seen.push(getLane() ?? 'base'), 1);
      setTimeoutInLane('base', () => seen.push(getLane() ?? 'base'), 1);
      setTimeoutInLane('not a lane!', () => seen.push(getLane() ?? 'base'), 1);
    });
    await waitFor(() => seen.length === 3);
    expect(seen).toEqual(['base', 'base', 'base']);
  });

  it('mirrors the lane into baggage, as withLane does', async () => {
    let entry: string | undefined;
    setTimeoutInLane('gray', () => {
      entry = propagation.getBaggage(context.active())?.getEntry('lane')?.value;
    }, 1);
    await waitFor(() => entry !== undefined);
    expect(entry).toBe('gray');
  });

  it('runs every tick of an interval in its lane, started from a request in another lane', async () => {
    const seen: Array<string | undefined> = [];
    const timer = withLane('blue', () => setIntervalInLane('gray', () => seen.push(getLane()), 1));
    await waitFor(() => seen.length >= 3);
    clearInterval(timer);
    expect(new Set(seen)).toEqual(new Set(['gray']));
  });
});
