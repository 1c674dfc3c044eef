import { join } from 'node:path';
import { laneMetadata } from '@graylane/core';
import { formatRecord, parseRecord, pathOf, recordInstance, recordOf } from '../src/file/record.js';
import { instanceOf } from '../src/instance.js';

describe('the file registry record (src/file/record.ts)', () => {
  const instance = instanceOf({ service: 'orders', host: '127.0.0.1', port: 8080, lane: 'gray', metadata: { zone: 'a' } });

  test('a record written by this process reads back as the same instance', () => {
    const record = recordOf(instance);
    expect(record).toMatchObject({ version: 1, service: 'orders', host: '127.0.0.1', port: 8080, lane: 'gray', pid: process.pid, healthy: true, enabled: true });
    const text = formatRecord(record);
    expect(text.endsWith('\n')).toBe(true);
    expect(parseRecord(text, 'orders')).toEqual(record);
    expect(recordInstance(parseRecord(text, 'orders')!)).toEqual(instance);
  });

  test('refuses what is not a well-formed record of the service', () => {
    const good = JSON.parse(formatRecord(recordOf(instance))) as Record<string, unknown>;
    const text = (changes: Record<string, unknown>) => JSON.stringify({ ...good, ...changes });
    expect(parseRecord('{"version":1', 'orders')).toBeUndefined(); // half-written
    expect(parseRecord('null', 'orders')).toBeUndefined();
    expect(parseRecord(text({}), 'payments')).toBeUndefined(); // another service's folder
    expect(parseRecord(text({ version: 2 }), 'orders')).toBeUndefined();
    expect(parseRecord(text({ host: '' }), 'orders')).toBeUndefined();
    expect(parseRecord(text({ port: 80.5 }), 'orders')).toBeUndefined();
    expect(parseRecord(text({ pid: 0 }), 'orders')).toBeUndefined();
    expect(parseRecord(text({ hostname: 7 }), 'orders')).toBeUndefined();
  });

  test('a hand-written record: defaults for what it leaves out, its lane from any metadata key graylane reads', () => {
    const record = parseRecord(JSON.stringify({ version: 1, service: 'orders', host: 'h', port: 1, pid: 42, hostname: 'x', weight: -1, metadata: { ...laneMetadata('rc'), n: 3 } }), 'orders');
    expect(record).toMatchObject({ lane: null, weight: 1, healthy: true, enabled: true, updatedAt: '', metadata: laneMetadata('rc') });
    expect(recordInstance(record!).lane).toBe('rc');
  });

  test('paths are one URI-encoded segment per name, never . or ..', () => {
    expect(pathOf('/r', 'a/b', '::1', 80)).toBe(join('/r', 'a%2Fb', '%3A%3A1_80.json'));
    expect(pathOf('/r', '..', 'h', 1)).toBe(join('/r', '%2E%2E', 'h_1.json'));
  });
});
