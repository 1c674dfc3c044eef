/** The real RabbitMQ node the suites run against, started once per test file. */
import { startBroker } from '../../../scripts/brokers/brokers.cjs';
import type { RabbitmqTestBroker } from '../../../scripts/brokers/brokers.cjs';

/** Starts a throw-away RabbitMQ node in `beforeAll` and stops it in `afterAll`; never skips. */
export function useRabbitmq(): () => RabbitmqTestBroker {
  let broker: RabbitmqTestBroker | undefined;
  beforeAll(async () => {
    broker = await startBroker('rabbitmq', { log: () => undefined });
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  }, 60_000);
  return () => {
    if (broker === undefined) throw new Error('the RabbitMQ test broker did not start (see beforeAll)');
    return broker;
  };
}
