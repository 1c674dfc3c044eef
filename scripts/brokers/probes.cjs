'use strict';
// Protocol-level readiness probes for the test brokers, over one loopback socket each, with no
// client library: an open port is not enough (Kafka and RabbitMQ listen before they serve).
//   redisPing(port)        PING -> +PONG
//   amqpHello(port)        AMQP 0-9-1 protocol header -> the server's connection.start method
//   kafkaApiVersions(port) ApiVersions v0 -> error code 0 and the API ranges it serves

const net = require('node:net');
const { HOST } = require('../nacos/common.cjs');

/**
 * Writes `request` to a fresh connection and resolves with what `parse(buffer)` returns once it
 * returns something other than undefined; rejects on error, close or `timeoutMs`.
 */
function exchange(port, request, parse, { timeoutMs = 2_000, host = HOST } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (error, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        const value = parse(buffer);
        if (value !== undefined) finish(undefined, value);
      } catch (error) {
        finish(error);
      }
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error(`${host}:${port} closed the connection before answering`)));
  });
}

/** Resolves with Redis' reply to PING ("PONG"). */
function redisPing(port, options) {
  return exchange(port, '*1\r\n$4\r\nPING\r\n', (buffer) => {
    const end = buffer.indexOf('\r\n');
    if (end < 0) return undefined;
    const line = buffer.subarray(0, end).toString('utf8');
    if (line.startsWith('-')) throw new Error(`redis answered PING with an error: ${line.slice(1)}`);
    return line.replace(/^\+/, '');
  }, options);
}

/**
 * Sends the AMQP 0-9-1 protocol header and resolves with the server's connection.start method
 * (`{ versionMajor, versionMinor }`), the first frame a broker that accepts AMQP sends.
 */
function amqpHello(port, options) {
  return exchange(port, Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]), (buffer) => {
    if (buffer.length >= 4 && buffer.subarray(0, 4).toString('latin1') === 'AMQP') {
      throw new Error(`the server refused AMQP 0-9-1 and offered protocol ${[...buffer.subarray(4, 8)].join('.')}`);
    }
    if (buffer.length < 7) return undefined;
    const type = buffer.readUInt8(0);
    const size = buffer.readUInt32BE(3);
    if (buffer.length < 7 + size + 1) return undefined;
    const classId = buffer.readUInt16BE(7);
    const methodId = buffer.readUInt16BE(9);
    if (type !== 1 || classId !== 10 || methodId !== 10) throw new Error(`expected connection.start, got frame type ${type} method ${classId}.${methodId}`);
    return { versionMajor: buffer.readUInt8(11), versionMinor: buffer.readUInt8(12) };
  }, options);
}

/** A Kafka request frame: size, api key, api version, correlation id, client id, then `body`. */
function kafkaRequest(apiKey, apiVersion, correlationId, body = Buffer.alloc(0), clientId = 'graylane-probe') {
  const client = Buffer.from(clientId, 'utf8');
  const header = Buffer.alloc(10 + client.length);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(client.length, 8);
  client.copy(header, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length, 0);
  return Buffer.concat([size, header, body]);
}

/** The body of one size-prefixed Kafka response with `correlationId`, once all of it has arrived. */
function kafkaResponse(buffer, correlationId) {
  if (buffer.length < 4) return undefined;
  const size = buffer.readInt32BE(0);
  if (buffer.length < 4 + size) return undefined;
  const got = buffer.readInt32BE(4);
  if (got !== correlationId) throw new Error(`kafka answered correlation id ${got}, expected ${correlationId}`);
  return buffer.subarray(8, 4 + size);
}

/** Sends ApiVersions v0 and resolves with the API ranges (`[{ apiKey, min, max }]`) the broker serves. */
function kafkaApiVersions(port, options) {
  const correlationId = 1 + Math.floor(Math.random() * 1_000_000);
  return exchange(port, kafkaRequest(18, 0, correlationId), (buffer) => {
    const body = kafkaResponse(buffer, correlationId);
    if (body === undefined) return undefined;
    const errorCode = body.readInt16BE(0);
    if (errorCode !== 0) throw new Error(`kafka answered ApiVersions with error code ${errorCode}`);
    const count = body.readInt32BE(2);
    const apis = [];
    for (let i = 0; i < count; i++) {
      const at = 6 + i * 6;
      apis.push({ apiKey: body.readInt16BE(at), min: body.readInt16BE(at + 2), max: body.readInt16BE(at + 4) });
    }
    return apis;
  }, options);
}

module.exports = { exchange, redisPing, amqpHello, kafkaRequest, kafkaResponse, kafkaApiVersions };
