import { sleep } from '@graylane/core';
import { createFakeClock } from '../src/index.js';

describe('createFakeClock', () => {
  test('runs each timer at its due time, in due order, and not a millisecond early', async () => {
    const clock = createFakeClock(1_000);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push(`b@${clock.now()}`), 200);
    clock.setTimeout(() => ran.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => ran.push(`c@${clock.now()}`), 200);
    await clock.advance(99);
    expect(ran).toEqual([]);
    expect(clock.now()).toBe(1_099);
    await clock.advance(101);
    expect(ran).toEqual(['a@1100', 'b@1200', 'c@1200']);
    expect(clock.pending).toBe(0);
    expect(clock.scheduled).toEqual([200, 100, 200]);
  });

  test('a cleared timer never runs', async () => {
    const clock = createFakeClock();
    let ran = false;
    const timer = clock.setTimeout(() => (ran = true), 10);
    clock.clearTimeout(timer);
    clock.clearTimeout(undefined);
    await clock.advance(1_000);
    expect(ran).toBe(false);
  });

  test('timers scheduled by async code after a timer ran also run within the same advance', async () => {
    const clock = createFakeClock(0);
    const woke: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await Promise.resolve();
        await sleep(500, clock);
        woke.push(clock.now());
      }
    })();
    await clock.advance(1_499);
    expect(woke).toEqual([500, 1_000]);
    await clock.advance(1);
    await loop;
    expect(woke).toEqual([500, 1_000, 1_500]);
  });

  test('advanceUntil moves time until the condition holds, and fails naming what did not happen', async () => {
    const clock = createFakeClock(0);
    let done = false;
    clock.setTimeout(() => (done = true), 250);
    await clock.advanceUntil(() => done, 1_000, 'the timer');
    expect(clock.now()).toBe(250);
    await expect(clock.advanceUntil(() => false, 100, 'never')).rejects.toThrow('fake clock: never did not happen within 100 ms');
    expect(clock.now()).toBe(350);
  });

  test('refuses to move time backwards', async () => {
    await expect(createFakeClock().advance(-1)).rejects.toThrow(RangeError);
  });
});
