/**
 * A torn rule write under load (#12 items 3 and 6), real processes on loopback: the gateway's rules
 * file is rewritten in place, in two pieces, again and again, while requests flow. The first piece
 * alone is valid YAML that sends to gray a request neither the old nor the new rules send there
 * (before the fix, a half-written file was applied and such requests went gray). Every request must
 * be decided by the old rules or by the new ones, never by a torn file, and none may fail.
 */
import { mkdtempSync, openSync, rmSync, writeSync, closeSync, ftruncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get, hops, startDemo } from './demo';
import type { Demo } from './demo';

const header = `apiVersion: graylane.io/v1alpha1
kind: LaneRules
spec:
  lanes:
    - tag: gray
      match:
`;
/** Old rules: alice goes gray. */
const OLD = `${header}        - { type: header, name: x-user, operator: '==', value: alice }\n`;
/** New rules: bob goes gray, only with x-beta: yes. Cut after its first condition, it sends every bob to gray. */
const NEW_FIRST = `${header}        - all:\n            - { type: header, name: x-user, operator: '==', value: bob }\n`;
const NEW = `${NEW_FIRST}            - { type: header, name: x-beta, operator: '==', value: 'yes' }\n`;

/** The users the load sends, with the lane each set of rules gives them at the entry. */
const USERS: ReadonlyArray<{ headers: Record<string, string>; old: string; new: string }> = [
  { headers: { 'x-user': 'alice' }, old: 'gray', new: 'base' },
  { headers: { 'x-user': 'bob', 'x-beta': 'yes' }, old: 'base', new: 'gray' },
  { headers: { 'x-user': 'bob' }, old: 'base', new: 'base' }, // gray only under the torn file
  { headers: { 'x-user': 'carol' }, old: 'base', new: 'base' },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rewrites `file` in place (same inode, as `>` in a shell or an editor without atomic save) in two pieces. */
async function tornWrite(file: string, first: string, rest: string, pauseMs: number): Promise<void> {
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, first, 0);
    await sleep(pauseMs);
    writeSync(fd, rest, Buffer.byteLength(first));
  } finally {
    closeSync(fd);
  }
}

describe('a torn rule write while the gateway serves', () => {
  let demo: Demo;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graylane-torn-'));
    file = join(dir, 'rules.yaml');
    writeFileSync(file, OLD);
    demo = await startDemo({ ...process.env, NACOS_SERVER_ADDR: '' }, file);
    const deadline = Date.now() + 5_000;
    while ((await get(demo, '/a')).status !== 200 && Date.now() < deadline) await sleep(100);
  }, 60_000);

  afterAll(async () => {
    await demo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every request is decided by the old or the new rules, none by the torn file, and none fails', async () => {
    const laneOf = async (user: (typeof USERS)[number]) => {
      const { status, body } = await get(demo, '/a', user.headers);
      return { status, lane: status === 200 ? hops(body)[0]![1] : undefined };
    };
    // Both rule sets are live before the faults start: the old one now, the new one once written whole.
    for (const user of USERS) expect(await laneOf(user)).toEqual({ status: 200, lane: user.old });

    let writing = true;
    const wrong: string[] = [];
    let failed = 0;
    let requests = 0;
    const load = (async () => {
      // Bounded: at most 4 requests in flight, until the writer is done (and never past 40,000 requests).
      while (writing && requests < 40_000) {
        await Promise.all(
          USERS.map(async (user) => {
            requests += 1;
            const { status, lane } = await laneOf(user);
            if (status !== 200) failed += 1;
            else if (lane !== user.old && lane !== user.new) wrong.push(`${JSON.stringify(user.headers)} went ${lane}`);
          }),
        );
      }
    })();

    // Ten torn writes each way, the pause between the pieces shorter than the source's quiet time
    // plus its settle time (100 + 150 ms by default), longer than its debounce alone.
    for (let round = 0; round < 10; round++) {
      await tornWrite(file, NEW_FIRST, NEW.slice(NEW_FIRST.length), 120);
      await sleep(400);
      await tornWrite(file, header, OLD.slice(header.length), 120);
      await sleep(400);
    }
    await tornWrite(file, NEW_FIRST, NEW.slice(NEW_FIRST.length), 120);
    // The complete new file is taken.
    const deadline = Date.now() + 5_000;
    while ((await laneOf(USERS[1]!)).lane !== 'gray' && Date.now() < deadline) await sleep(50);
    writing = false;
    await load;

    console.log(`torn rule writes: ${requests} requests during 21 torn writes, ${failed} failed, ${wrong.length} wrong lanes`);
    expect(requests).toBeGreaterThan(100);
    expect(wrong).toEqual([]);
    expect(failed).toBe(0);
    for (const user of USERS) expect(await laneOf(user)).toEqual({ status: 200, lane: user.new });
  }, 60_000);
});
