import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ensureContextManager, getLane, injectLaneIntoMessage, laneWorkerData, runInWorkerWithLane, withLane } from '@graylane/context';

interface Reply {
  readonly kind: 'started' | 'job';
  readonly id: number;
  readonly lane: string | null;
}

function startWorker(workerData: unknown): Worker {
  const entry = path.join(__dirname, 'fixtures/lane-worker.ts');
  return new Worker(path.join(__dirname, 'fixtures/ts-worker.cjs'), { argv: [entry], workerData });
}

function replies(worker: Worker, count: number): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const received: Reply[] = [];
    worker.on('error', reject);
    worker.on('message', (reply: Reply) => {
      received.push(reply);
      if (received.length === count) resolve(received);
    });
  });
}

describe('worker_threads', () => {
  beforeAll(() => ensureContextManager());

  it('laneWorkerData carries the current lane and runInWorkerWithLane restores it', () => {
    const data = withLane('gray', () => laneWorkerData({ id: 1 }));
    expect(data).toEqual({ '@graylane/lane': 'gray', data: { id: 1 } });
    expect(runInWorkerWithLane((d: { id: number }) => [d.id, getLane()], structuredClone(data))).toEqual([1, 'gray']);
    expect(laneWorkerData(null)).toEqual({ '@graylane/lane': null, data: null });
    expect(withLane('blue', () => runInWorkerWithLane((d) => [d, getLane()], 'plain'))).toEqual(['plain', undefined]);
  });

  it('starts a real worker in the lane, and runs each posted job in its own lane', async () => {
    const worker = withLane('gray', () => startWorker(laneWorkerData({ id: 0 })));
    try {
      const lanes = ['blue', undefined, 'feature-x', 'gray', undefined, 'blue'];
      const all = replies(worker, lanes.length + 1);
      lanes.forEach((lane, i) => withLane(lane, () => worker.postMessage({ id: i + 1, headers: injectLaneIntoMessage({}) })));
      const received = await all;
      expect(received.find((r) => r.kind === 'started')).toEqual({ kind: 'started', id: 0, lane: 'gray' });
      const jobs = received.filter((r) => r.kind === 'job').sort((a, b) => a.id - b.id);
      expect(jobs.map((r) => r.lane)).toEqual(lanes.map((lane) => lane ?? null));
    } finally {
      await worker.terminate();
    }
  }, 15_000);
});
