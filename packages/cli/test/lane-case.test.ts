// What graylane does with the case of a lane name, per carrier and per place a lane is named
// (documented in docs/concepts/lanes.md, "Lane names and case"): lane values are compared exactly,
// `Gray` is not `gray`, and only lower-case `base` means base. Carrier header names are
// case-insensitive (HTTP); baggage keys are read exactly but stripped at an entry in any case.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCarriers, createEntryDecision, extractLane, signLaneToken } from '@graylane/context';
import { laneFromEnv, laneFromMetadata, parseLane } from '@graylane/core';
import type { Instance } from '@graylane/core';
import { createFileRegistry } from '@graylane/registry';
import { createRouter } from '@graylane/router';
import { emptyLaneStore, laneStoreState, parseRules } from '@graylane/rules';
import type { LaneObject } from '@graylane/rules';
import { graylane } from './graylane.js';

const instance = (id: string, lane: string | undefined): Instance => ({ id, service: 'b', host: '127.0.0.1', port: Number(id), lane, weight: 1, healthy: true, enabled: true, metadata: {} });

describe('lane names and case', () => {
  it('every carrier keeps the lane as written: x-mse-tag, baggage lane and __microservice_tag__, the OpenSergo carriers', () => {
    expect(extractLane({ 'x-mse-tag': 'Gray' })).toBe('Gray');
    expect(extractLane({ baggage: 'lane=GRAY' })).toBe('GRAY');
    expect(extractLane({ baggage: '__microservice_tag__=Gray' })).toBe('Gray');
    expect(createCarriers({ opensergoHeader: true }).extractLane({ 'x-opensergo-traffic': 'Gray' })).toBe('Gray');
    expect(createCarriers({ opensergoBaggage: true }).extractLane({ baggage: 'OpenSergo-Label=Gray' })).toBe('Gray');
  });

  it('only lower-case base is base: BASE and Base are lanes of their own', () => {
    expect(parseLane('base')).toBeUndefined();
    expect(parseLane(' base ')).toBeUndefined();
    expect(parseLane('BASE')).toBe('BASE');
    expect(parseLane('Base')).toBe('Base');
    expect(extractLane({ 'x-mse-tag': 'Base' })).toBe('Base');
    expect(laneFromEnv({ GRAYLANE_LANE: 'BASE' })).toEqual({ lane: 'BASE', source: 'GRAYLANE_LANE' });
    expect(laneFromMetadata({ 'alicloud.service.tag': 'Base' })).toBe('Base');
  });

  it('baggage keys are read exactly (Lane=gray is not the lane), but an entry strips them in any case', () => {
    expect(extractLane({ baggage: 'Lane=gray' })).toBeUndefined();
    expect(extractLane({ baggage: 'LANE=gray' })).toBeUndefined();
    expect(createCarriers({ opensergoBaggage: true }).extractLane({ baggage: 'opensergo-label=gray' })).toBeUndefined();
    const headers: Record<string, string | string[] | undefined> = { baggage: 'LANE=gray,Opensergo-Label=gray,user=7' };
    expect(createEntryDecision({ trust: 'none' }).decide(undefined, headers, '203.0.113.9', true)).toEqual({ lane: undefined, decidedBy: 'none' });
    expect(headers['baggage']).toBe('user=7');
  });

  it('header names are case-insensitive: Node lower-cases them, and the CLI too', async () => {
    const result = await graylane(['rules', 'explain', join(__dirname, 'fixtures', 'native.yaml'), '--url', '/a', '--header', 'X-MSE-TAG: Gray', '--trust', 'inner', '--json']);
    expect(JSON.parse(result.stdout)).toMatchObject({ lane: 'Gray', decidedBy: 'carrier' });
  });

  it('instances, rules, lane tokens and the lane store compare lanes exactly: a Gray request finds no gray instance', () => {
    const router = createRouter(undefined);
    router.update('b', [instance('1', 'gray'), instance('2', undefined)]);
    expect(router.select('b', 'gray').servedLane).toBe('gray');
    const mismatched = router.select('b', 'Gray');
    expect(mismatched).toMatchObject({ servedLane: undefined, fallback: [{ lane: 'Gray', reason: 'no-instance' }] });
    router.close();

    // Two lanes that differ in case only are two lanes, accepted without a warning.
    const { rules, warnings } = parseRules('lanes:\n  - tag: Gray\n    match: [{ type: query, name: g, operator: "==", value: "1" }]\n  - tag: gray\n    match: [{ type: query, name: g, operator: "==", value: "2" }]\n');
    expect(rules.lanes.map((lane) => lane.tag)).toEqual(['Gray', 'gray']);
    expect(warnings).toEqual([]);

    const secret = 's'.repeat(32);
    const token = signLaneToken('Gray', { id: 'k1', secret }, { ttlSeconds: 60 });
    const decided = createEntryDecision({ trust: { tokens: { keys: [{ id: 'k1', secret }] } } }).decide(undefined, { 'x-graylane-lane-token': token }, undefined);
    expect(decided).toEqual({ lane: 'Gray', decidedBy: 'token' });

    const lane: LaneObject = { tag: 'gray', rule: '', services: [], enabled: false, changedBy: 't', changedAt: new Date().toISOString() };
    expect([...laneStoreState({ ...emptyLaneStore(), lanes: [lane] }).inactive]).toEqual(['gray']); // Gray stays active
  });

  it('graylane route: a request in Gray falls back to base at a service whose instance is labelled gray', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graylane-cli-case-'));
    const registry = createFileRegistry({ dir });
    try {
      await registry.register({ service: 'b', host: '127.0.0.1', port: 4101 });
      await registry.register({ service: 'b', host: '127.0.0.1', port: 4102, lane: 'gray' });
      const route = async (lane: string) => JSON.parse((await graylane(['route', '--service', 'b', '--lane', lane, '--json'], { env: { GRAYLANE_REGISTRY_DIR: dir } })).stdout).hops[0];
      const [exact, other] = await Promise.all([route('gray'), route('Gray')]);
      expect(exact).toMatchObject({ servedLane: 'gray', instance: { id: '127.0.0.1:4102' } });
      expect(other).toMatchObject({ lane: 'Gray', servedLane: 'base', instance: { id: '127.0.0.1:4101' }, fallback: [{ lane: 'Gray', reason: 'no-instance' }] });
    } finally {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
