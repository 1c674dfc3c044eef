/**
 * A bare-socket AMQP 0-9-1 publisher, for tests only: amqplib refuses to encode a header table over
 * its 64 KiB encoding buffer (a RangeError from `publish`), but other clients send such headers and
 * RabbitMQ delivers them, so the oversized-header case is published with this instead. It speaks the
 * handshake as guest, opens channel 1, publishes one message with a header table, and closes the
 * connection (the broker handles the publish before the close).
 */
import { connect, type Socket } from 'node:net';

const FRAME_END = 0xce;

function shortstr(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

function longstr(bytes: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function table(headers: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(headers)) {
    parts.push(shortstr(key));
    if (typeof value === 'string') parts.push(Buffer.from('S'), longstr(Buffer.from(value, 'utf8')));
    else parts.push(Buffer.from('x'), longstr(value));
  }
  return longstr(Buffer.concat(parts));
}

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([FRAME_END])]);
}

function method(channel: number, classId: number, methodId: number, args: Buffer): Buffer {
  const ids = Buffer.alloc(4);
  ids.writeUInt16BE(classId, 0);
  ids.writeUInt16BE(methodId, 2);
  return frame(1, channel, Buffer.concat([ids, args]));
}

/** Reads whole frames off a socket; `method(c, m)` resolves with the next frame's method arguments. */
class Frames {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private failure: Error | undefined;
  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('error', (error) => {
      this.failure = error;
      this.wake();
    });
    socket.on('close', () => {
      this.failure ??= new Error('connection closed');
      this.wake();
    });
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  async method(classId: number, methodId: number): Promise<Buffer> {
    for (;;) {
      if (this.buffer.length >= 7) {
        const size = this.buffer.readUInt32BE(3);
        if (this.buffer.length >= size + 8) {
          const type = this.buffer.readUInt8(0);
          const payload = this.buffer.subarray(7, 7 + size);
          this.buffer = this.buffer.subarray(size + 8);
          if (type !== 1) continue; // heartbeats
          const got = [payload.readUInt16BE(0), payload.readUInt16BE(2)];
          if (got[0] !== classId || got[1] !== methodId) {
            throw new Error(`raw AMQP: expected method ${classId}.${methodId}, got ${got.join('.')}: ${payload.subarray(4).toString('latin1')}`);
          }
          return payload.subarray(4);
        }
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

/** Publishes one message to `exchange` with exactly `headers`, over a fresh connection as guest. */
export async function rawPublish(url: string, exchange: string, routingKey: string, body: Buffer, headers: Record<string, string | Buffer>): Promise<void> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  const frames = new Frames(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])); // "AMQP" 0-9-1
    await frames.method(10, 10); // connection.start
    const startOk = Buffer.concat([longstr(Buffer.alloc(0)), shortstr('PLAIN'), longstr(Buffer.from('\0guest\0guest')), shortstr('en_US')]);
    socket.write(method(0, 10, 11, startOk));
    const tune = await frames.method(10, 30);
    const tuneOk = Buffer.alloc(8);
    tuneOk.writeUInt16BE(tune.readUInt16BE(0), 0); // channel-max
    tuneOk.writeUInt32BE(tune.readUInt32BE(2), 2); // frame-max
    tuneOk.writeUInt16BE(0, 6); // no heartbeats
    socket.write(method(0, 10, 31, tuneOk));
    socket.write(method(0, 10, 40, Buffer.concat([shortstr('/'), shortstr(''), Buffer.from([0])]))); // connection.open
    await frames.method(10, 41);
    socket.write(method(1, 20, 10, shortstr(''))); // channel.open
    await frames.method(20, 11);
    socket.write(method(1, 60, 40, Buffer.concat([Buffer.alloc(2), shortstr(exchange), shortstr(routingKey), Buffer.from([0])]))); // basic.publish
    const props = Buffer.alloc(14);
    props.writeUInt16BE(60, 0); // class basic
    props.writeUInt16BE(0, 2); // weight
    props.writeBigUInt64BE(BigInt(body.length), 4);
    props.writeUInt16BE(0x2000, 12); // property flags: headers only
    socket.write(frame(2, 1, Buffer.concat([props, table(headers)])));
    if (body.length > 0) socket.write(frame(3, 1, body));
    const close = Buffer.concat([Buffer.from([0, 200]), shortstr('bye'), Buffer.alloc(4)]);
    socket.write(method(0, 10, 50, close)); // connection.close: handled after the publish
    await frames.method(10, 51);
  } finally {
    socket.destroy();
  }
}
