/**
 * The test brokers themselves (scripts/brokers): each starts on private loopback ports with
 * throw-away data, does one real round trip in its own protocol, spoken here over a bare socket
 * with no client library, and leaves nothing behind when stopped: no process of its group, no
 * listening port (RabbitMQ's private epmd included), no data directory.
 *   Redis:    SET then GET of a random value (RESP).
 *   RabbitMQ: the AMQP 0-9-1 handshake as guest (start/start-ok, tune/tune-ok, open/open-ok), a
 *             channel and a queue.declare answered with declare-ok naming the queue.
 *   Kafka:    Metadata v4 asking for a new topic (auto-created), answered by node 1 at the broker's
 *             own loopback address with the topic's one partition led by node 1.
 */
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { startBroker } from '../../scripts/brokers/brokers.cjs';
import type { KafkaTestBroker, RabbitmqTestBroker, TestBroker } from '../../scripts/brokers/brokers.cjs';
import { kafkaRequest, kafkaResponse } from '../../scripts/brokers/probes.cjs';

jest.setTimeout(180_000);

const HOST = '127.0.0.1';

/** A socket that collects what arrives; `read(n)` resolves with the next n bytes. */
class Wire {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    const fail = (error: Error): void => {
      this.failure = error;
      this.waiter?.();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static open(port: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: HOST, port });
      socket.once('connect', () => resolve(new Wire(socket)));
      socket.once('error', reject);
    });
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  async read(n: number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length < n) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} bytes (have ${this.buffer.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---- Redis (RESP) ------------------------------------------------------------------------------

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

async function redisRoundTrip(port: number): Promise<string> {
  const wire = await Wire.open(port);
  try {
    const key = `graylane:smoke:${randomBytes(4).toString('hex')}`;
    const value = randomBytes(8).toString('hex');
    wire.write(resp('SET', key, value));
    const set = await readRespLine(wire);
    if (set !== '+OK') throw new Error(`SET answered ${set}`);
    wire.write(resp('GET', key));
    const header = await readRespLine(wire);
    if (!header.startsWith('$')) throw new Error(`GET answered ${header}`);
    const got = (await wire.read(Number(header.slice(1)) + 2)).subarray(0, -2).toString('utf8');
    return got === value ? 'SET/GET ok' : `GET returned ${got}, expected ${value}`;
  } finally {
    wire.close();
  }
}

async function readRespLine(wire: Wire): Promise<string> {
  let line = '';
  for (let i = 0; i < 1_000; i++) {
    const byte = (await wire.read(1)).toString('latin1');
    if (byte === '\n' && line.endsWith('\r')) return line.slice(0, -1);
    line += byte;
  }
  throw new Error(`no CRLF in ${line.length} bytes`);
}

// ---- AMQP 0-9-1 ---------------------------------------------------------------------------------

function shortstr(s: string): Buffer {
  return Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
}

function longstr(s: string | Buffer): Buffer {
  const body = typeof s === 'string' ? Buffer.from(s) : s;
  const size = Buffer.alloc(4);
  size.writeUInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function methodFrame(channel: number, classId: number, methodId: number, args: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from([classId >> 8, classId & 0xff, methodId >> 8, methodId & 0xff]), args]);
  const header = Buffer.alloc(7);
  header.writeUInt8(1, 0);
  header.writeUInt16BE(channel, 1);
  header.writeUInt32BE(payload.length, 3);
  return Buffer.concat([header, payload, Buffer.from([0xce])]);
}

async function readMethod(wire: Wire): Promise<{ channel: number; classId: number; methodId: number; args: Buffer }> {
  const header = await wire.read(7);
  const type = header.readUInt8(0);
  const channel = header.readUInt16BE(1);
  const size = header.readUInt32BE(3);
  const payload = await wire.read(size + 1);
  if (payload[size] !== 0xce) throw new Error('AMQP frame without its end octet');
  if (type !== 1) throw new Error(`expected a method frame, got type ${type}`);
  return { channel, classId: payload.readUInt16BE(0), methodId: payload.readUInt16BE(2), args: payload.subarray(4, size) };
}

async function expectMethod(wire: Wire, classId: number, methodId: number, what: string): Promise<Buffer> {
  const method = await readMethod(wire);
  if (method.classId === 10 && method.methodId === 50) throw new Error(`the broker closed the connection while waiting for ${what}: ${method.args.subarray(3, 3 + method.args[2]!).toString()}`);
  if (method.classId !== classId || method.methodId !== methodId) throw new Error(`expected ${what} (${classId}.${methodId}), got ${method.classId}.${method.methodId}`);
  return method.args;
}

async function amqpRoundTrip(port: number): Promise<{ queue: string; product: string }> {
  const wire = await Wire.open(port);
  try {
    wire.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    const start = await expectMethod(wire, 10, 10, 'connection.start');
    const product = /productS[\s\S]{4}([A-Za-z]+)/.exec(start.toString('latin1'))?.[1] ?? '';
    // start-ok: client-properties (empty table), mechanism, response, locale.
    const emptyTable = Buffer.alloc(4);
    wire.write(methodFrame(0, 10, 11, Buffer.concat([emptyTable, shortstr('PLAIN'), longstr('\0guest\0guest'), shortstr('en_US')])));
    const tune = await expectMethod(wire, 10, 30, 'connection.tune');
    const tuneOk = Buffer.alloc(8);
    tuneOk.writeUInt16BE(Math.min(tune.readUInt16BE(0) || 2047, 2047), 0);
    tuneOk.writeUInt32BE(Math.min(tune.readUInt32BE(2) || 131_072, 131_072), 2);
    tuneOk.writeUInt16BE(0, 6); // no heartbeats
    wire.write(methodFrame(0, 10, 31, tuneOk));
    wire.write(methodFrame(0, 10, 40, Buffer.concat([shortstr('/'), shortstr(''), Buffer.from([0])])));
    await expectMethod(wire, 10, 41, 'connection.open-ok');
    wire.write(methodFrame(1, 20, 10, shortstr('')));
    await expectMethod(wire, 20, 11, 'channel.open-ok');
    const name = `graylane-smoke-${randomBytes(4).toString('hex')}`;
    // queue.declare: reserved-1, queue, bits (passive durable exclusive auto-delete no-wait), arguments.
    wire.write(methodFrame(1, 50, 10, Buffer.concat([Buffer.alloc(2), shortstr(name), Buffer.from([0b0100]), emptyTable])));
    const declared = await expectMethod(wire, 50, 11, 'queue.declare-ok');
    const queue = declared.subarray(1, 1 + declared[0]!).toString('utf8');
    // connection.close: reply code, text, class, method.
    wire.write(methodFrame(0, 10, 50, Buffer.concat([Buffer.from([0x00, 200]), shortstr('bye'), Buffer.alloc(4)])));
    await expectMethod(wire, 10, 51, 'connection.close-ok');
    return { queue, product };
  } finally {
    wire.close();
  }
}

// ---- Kafka --------------------------------------------------------------------------------------

interface KafkaMetadata {
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  topics: Array<{ errorCode: number; name: string; partitions: Array<{ errorCode: number; index: number; leader: number }> }>;
}

/** Metadata v4 for `topic`, auto-creating it; a minimal decoder of the v4 response. */
async function kafkaMetadata(port: number, topic: string, correlationId: number): Promise<KafkaMetadata> {
  const name = Buffer.from(topic);
  const body = Buffer.alloc(4 + 2 + name.length + 1);
  body.writeInt32BE(1, 0);
  body.writeInt16BE(name.length, 4);
  name.copy(body, 6);
  body.writeUInt8(1, 6 + name.length); // allow_auto_topic_creation
  const wire = await Wire.open(port);
  try {
    wire.write(kafkaRequest(3, 4, correlationId, body, 'graylane-smoke'));
    const size = (await wire.read(4)).readInt32BE(0);
    const rest = await wire.read(size);
    const frame = kafkaResponse(Buffer.concat([Buffer.from([size >>> 24, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff]), rest]), correlationId);
    if (!frame) throw new Error('incomplete Metadata response');
    let at = 4; // throttle_time_ms
    const int16 = (): number => ((at += 2), frame.readInt16BE(at - 2));
    const int32 = (): number => ((at += 4), frame.readInt32BE(at - 4));
    const str = (): string | null => {
      const n = int16();
      if (n < 0) return null;
      at += n;
      return frame.subarray(at - n, at).toString('utf8');
    };
    const brokers: KafkaMetadata['brokers'] = [];
    for (let i = int32(); i > 0; i--) {
      const nodeId = int32();
      const host = str() ?? '';
      const brokerPort = int32();
      str(); // rack
      brokers.push({ nodeId, host, port: brokerPort });
    }
    str(); // cluster id
    int32(); // controller id
    const topics: KafkaMetadata['topics'] = [];
    for (let t = int32(); t > 0; t--) {
      const errorCode = int16();
      const topicName = str() ?? '';
      at += 1; // is_internal
      const partitions: KafkaMetadata['topics'][number]['partitions'] = [];
      for (let p = int32(); p > 0; p--) {
        const partitionError = int16();
        const index = int32();
        const leader = int32();
        for (let r = int32(); r > 0; r--) int32(); // replicas
        for (let r = int32(); r > 0; r--) int32(); // isr
        partitions.push({ errorCode: partitionError, index, leader });
      }
      topics.push({ errorCode, name: topicName, partitions });
    }
    return { brokers, topics };
  } finally {
    wire.close();
  }
}

/** Asks for a new topic until the broker has created it and elected its leader (bounded). */
async function kafkaRoundTrip(port: number): Promise<KafkaMetadata> {
  const topic = `graylane-smoke-${randomBytes(4).toString('hex')}`;
  let last: KafkaMetadata | undefined;
  for (let attempt = 1; attempt <= 50; attempt++) {
    last = await kafkaMetadata(port, topic, attempt);
    const found = last.topics.find((t) => t.name === topic);
    if (found && found.errorCode === 0 && found.partitions.length > 0 && found.partitions.every((p) => p.errorCode === 0 && p.leader >= 0)) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`topic ${topic} was not created with a leader: ${JSON.stringify(last)}`);
}

// ---- what is left after stop --------------------------------------------------------------------

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function expectGone(broker: TestBroker, ports: number[]): Promise<void> {
  expect(groupAlive(broker.pid)).toBe(false);
  for (const port of ports) expect({ port, listening: await canConnect(port) }).toEqual({ port, listening: false });
  expect(existsSync(broker.dataDir)).toBe(false);
}

describe('test brokers (scripts/brokers)', () => {
  it('Redis: a private instance answers SET/GET and leaves nothing behind', async () => {
    const redis = await startBroker('redis', { log: () => undefined });
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(redis.env).toEqual({ REDIS_URL: redis.url });
      expect(redis.port).not.toBe(6379);
      expect(groupAlive(redis.pid)).toBe(true);
      expect(await redisRoundTrip(redis.port)).toBe('SET/GET ok');
    } finally {
      await redis.stop();
    }
    await expectGone(redis, [redis.port]);
  });

  it('RabbitMQ: a standalone node accepts an AMQP login and declares a queue, then is gone with its epmd', async () => {
    const rabbit = (await startBroker('rabbitmq', { log: () => undefined })) as RabbitmqTestBroker;
    try {
      expect(rabbit.url).toBe(`amqp://127.0.0.1:${rabbit.port}`);
      expect(rabbit.env).toEqual({ AMQP_URL: rabbit.url });
      expect([rabbit.port, rabbit.epmdPort]).not.toContain(5672);
      expect(rabbit.epmdPort).not.toBe(4369);
      expect(await canConnect(rabbit.epmdPort)).toBe(true);
      const { queue, product } = await amqpRoundTrip(rabbit.port);
      expect(product).toBe('RabbitMQ');
      expect(queue).toMatch(/^graylane-smoke-[0-9a-f]{8}$/);
    } finally {
      await rabbit.stop();
    }
    await expectGone(rabbit, [rabbit.port, rabbit.distPort, rabbit.epmdPort]);
  });

  it('Kafka (KRaft): the broker auto-creates a topic led by node 1 at its loopback address, then is gone', async () => {
    const kafka = (await startBroker('kafka', { log: () => undefined })) as KafkaTestBroker;
    try {
      expect(kafka.env).toEqual({ KAFKA_BROKERS: `127.0.0.1:${kafka.port}` });
      const metadata = await kafkaRoundTrip(kafka.port);
      expect(metadata.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: kafka.port }]);
      expect(metadata.topics[0]!.partitions).toEqual([{ errorCode: 0, index: 0, leader: 1 }]);
    } finally {
      await kafka.stop();
    }
    await expectGone(kafka, [kafka.port, kafka.controllerPort]);
  });

  it('rejects an unknown broker by name', async () => {
    await expect(startBroker('rocketmq' as never)).rejects.toThrow('unknown test broker "rocketmq" (known: kafka, rabbitmq, redis)');
  });
});
