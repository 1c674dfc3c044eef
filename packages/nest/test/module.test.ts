import { setTimeout as sleep } from 'node:timers/promises';
import { Body, Controller, Get, Headers, Injectable, Module, Post } from '@nestjs/common';
import { ErrorCode } from '@graylane/core';
import { LANE_TOKEN_HEADER, createCarriers, ensureContextManager, getLane, signLaneToken } from '@graylane/context';
import type { LaneTokenKey } from '@graylane/context';
import { GraylaneModule, Lane, LaneService } from '../src/index.js';
import type { GraylaneModuleOptions } from '../src/index.js';
import { PLATFORMS, serve } from './apps.js';
import type { RunningApp } from './apps.js';

/** A provider of the application that depends on the lane. */
@Injectable()
class Greeter {
  constructor(private readonly lanes: LaneService) {}

  greet(): string {
    return `hello from ${this.lanes.current() ?? 'base'}`;
  }
}

@Controller()
class LaneController {
  constructor(private readonly greeter: Greeter) {}

  @Get('lane')
  async lane(@Lane() param: string | undefined) {
    const first = getLane() ?? null;
    await sleep(2);
    return { param: param ?? null, first, afterTimer: getLane() ?? null, greeting: this.greeter.greet() };
  }

  @Post('echo')
  echo(@Body() body: unknown, @Lane() lane: string | undefined) {
    return { body, lane: lane ?? null, context: getLane() ?? null };
  }
}

@Module({ controllers: [LaneController], providers: [Greeter] })
class FeatureModule {}

@Injectable()
class CarrierConfig {
  readonly header = 'x-lane';
}

@Module({ providers: [CarrierConfig], exports: [CarrierConfig] })
class ConfigModule {}

describe.each(PLATFORMS)('GraylaneModule on %s', (platform) => {
  const seenByHook: Array<string | undefined> = [];
  let forRoot: RunningApp;
  let forRootAsync: RunningApp;
  let bare: RunningApp;

  beforeAll(async () => {
    ensureContextManager();
    forRoot = await serve(platform, {
      imports: [GraylaneModule.forRoot({ onLane: (lane) => seenByHook.push(lane) }), FeatureModule],
    });
    forRootAsync = await serve(platform, {
      imports: [
        GraylaneModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CarrierConfig],
          useFactory: async (config: CarrierConfig) => ({ carriers: createCarriers({ mseTag: config.header }) }),
        }),
        FeatureModule,
      ],
    });
    bare = await serve(platform, { imports: [GraylaneModule, FeatureModule] });
  });

  afterAll(() => Promise.all([forRoot?.close(), forRootAsync?.close(), bare?.close()]));

  async function call(app: RunningApp, path: string, init?: RequestInit): Promise<unknown> {
    const response = await fetch(`${app.url}${path}`, init);
    expect(response.status).toBeLessThan(300);
    return response.json();
  }

  test('x-mse-tag puts the request in its lane: @Lane(), LaneService and the context agree, across timers', async () => {
    await expect(call(forRoot, '/lane', { headers: { 'x-mse-tag': 'gray' } })).resolves.toEqual({
      param: 'gray',
      first: 'gray',
      afterTimer: 'gray',
      greeting: 'hello from gray',
    });
  });

  test('W3C baggage lane=... puts the request in its lane', async () => {
    await expect(call(forRoot, '/lane', { headers: { baggage: 'user=1, lane=blue' } })).resolves.toMatchObject({ param: 'blue', afterTimer: 'blue' });
  });

  test('no carrier, or a malformed one, means base', async () => {
    const base = { param: null, first: null, afterTimer: null, greeting: 'hello from base' };
    await expect(call(forRoot, '/lane')).resolves.toEqual(base);
    await expect(call(forRoot, '/lane', { headers: { 'x-mse-tag': '../admin' } })).resolves.toEqual(base);
  });

  // Larger than one socket read, so the body arrives in several chunks.
  test('the lane holds in handlers that read a request body', async () => {
    const init = { method: 'POST', headers: { 'x-mse-tag': 'gray', 'content-type': 'application/json' }, body: JSON.stringify({ big: 'x'.repeat(90_000) }) };
    const reply = (await call(forRoot, '/echo', init)) as { body: { big: string }; lane: string; context: string };
    expect(reply.body.big).toHaveLength(90_000);
    expect(reply).toMatchObject({ lane: 'gray', context: 'gray' });
  });

  test('the onLane hook sees each request lane', async () => {
    seenByHook.length = 0;
    await call(forRoot, '/lane', { headers: { 'x-mse-tag': 'gray' } });
    await call(forRoot, '/lane');
    expect(seenByHook).toEqual(['gray', undefined]);
  });

  test('forRootAsync takes the carriers from its factory', async () => {
    await expect(call(forRootAsync, '/lane', { headers: { 'x-lane': 'feature-x' } })).resolves.toMatchObject({ param: 'feature-x' });
    await expect(call(forRootAsync, '/lane', { headers: { 'x-mse-tag': 'gray' } })).resolves.toMatchObject({ param: null });
  });

  test('imported without forRoot, it uses the default carriers', async () => {
    await expect(call(bare, '/lane', { headers: { 'x-mse-tag': 'gray' } })).resolves.toMatchObject({ param: 'gray' });
  });

  test('lanes do not leak between 200 concurrent requests', async () => {
    const lanes = ['gray', 'blue', undefined, 'feature-x'];
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const lane = lanes[i % lanes.length];
        const reply = await call(forRoot, '/lane', { headers: lane ? { 'x-mse-tag': lane } : {} });
        return [lane ?? null, reply] as const;
      }),
    );
    for (const [lane, reply] of results) expect(reply).toMatchObject({ param: lane, first: lane, afterTimer: lane });
  });
});

@Controller()
class SeenController {
  @Get('seen')
  seen(@Headers() headers: Record<string, string>, @Lane() lane: string | undefined) {
    return { lane: lane ?? null, context: getLane() ?? null, headers };
  }
}

describe.each(PLATFORMS)('GraylaneModule as an entry on %s', (platform) => {
  /** A network the test client (on loopback) is not in: it stands for the internet. */
  const ELSEWHERE = ['10.0.0.0/8'];
  const KEY: LaneTokenKey = { id: 'tools', secret: 'a-test-secret-of-at-least-32-bytes!' };
  const apps: RunningApp[] = [];

  beforeAll(() => ensureContextManager());
  afterAll(() => Promise.all(apps.map((app) => app.close())));

  async function entryApp(options: GraylaneModuleOptions, async = false): Promise<string> {
    const graylane = async ? GraylaneModule.forRootAsync({ useFactory: async () => options }) : GraylaneModule.forRoot(options);
    const app = await serve(platform, { imports: [graylane], controllers: [SeenController] });
    apps.push(app);
    return app.url;
  }

  async function seen(url: string, headers: Record<string, string>): Promise<{ lane: string | null; context: string | null; headers: Record<string, string> }> {
    return (await fetch(`${url}/seen`, { headers })).json() as never;
  }

  test.each([false, true])('an unsigned request from outside runs in base, its carriers stripped (forRootAsync: %s)', async (async) => {
    const url = await entryApp({ entry: { trustedNetworks: ELSEWHERE, tokens: { keys: [KEY] } } }, async);
    const reply = await seen(url, { 'x-mse-tag': 'gray', baggage: 'lane=gray,__microservice_tag__=gray,user=7' });
    expect(reply).toMatchObject({ lane: null, context: null });
    expect(reply.headers['x-mse-tag']).toBeUndefined();
    expect(reply.headers['baggage']).toBe('user=7');
  });

  test('a valid token puts the request in its lane; the token stays at the entry', async () => {
    const url = await entryApp({ entry: { trustedNetworks: ELSEWHERE, tokens: { keys: [KEY] } } });
    const reply = await seen(url, { [LANE_TOKEN_HEADER]: signLaneToken('blue', KEY, { ttlSeconds: 60 }), 'x-mse-tag': 'gray' });
    expect(reply).toMatchObject({ lane: 'blue', context: 'blue', headers: { 'x-mse-tag': 'blue' } });
    expect(reply.headers[LANE_TOKEN_HEADER]).toBeUndefined();
  });

  test('entry: true trusts no client, loopback included; a trusted network chooses its lane', async () => {
    expect(await seen(await entryApp({ entry: true }), { 'x-mse-tag': 'gray' })).toMatchObject({ lane: null });
    expect(await seen(await entryApp({ entry: { trustedNetworks: ['127.0.0.0/8', '::1/128'] } }), { 'x-mse-tag': 'gray' })).toMatchObject({ lane: 'gray' });
  });

  test('invalid entry options stop the application from starting', async () => {
    await expect(entryApp({ entry: { trustedNetworks: ['not a network'] } })).rejects.toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      details: { path: 'trustedNetworks[0]' },
    });
  });
});
