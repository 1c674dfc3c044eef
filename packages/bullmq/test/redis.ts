/** The real Redis server the suites run against, started once per test file. */
import { startBroker } from '../../../scripts/brokers/brokers.cjs';
import type { TestBroker } from '../../../scripts/brokers/brokers.cjs';

/** Starts a throw-away Redis server in `beforeAll` and stops it in `afterAll`; never skips. */
export function useRedis(): () => TestBroker {
  let broker: TestBroker | undefined;
  beforeAll(async () => {
    broker = await startBroker('redis', { log: () => undefined });
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  }, 60_000);
  return () => {
    if (broker === undefined) throw new Error('the Redis test server did not start (see beforeAll)');
    return broker;
  };
}

/** BullMQ connection options for the test server (`maxRetriesPerRequest: null`, as BullMQ's workers want). */
export function connectionOf(broker: TestBroker): { host: string; port: number; maxRetriesPerRequest: null } {
  return { host: broker.host, port: broker.port, maxRetriesPerRequest: null };
}
