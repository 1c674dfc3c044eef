import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition } from '@grpc/proto-loader';

/**
 * The shipped proto, one level up from this module: `src/proto.ts` in the repository, the bundled
 * `dist/index.{js,cjs}` once built (tsup shims `import.meta.url` in the CommonJS build).
 */
const PROTO_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'proto', 'nacos_grpc_service.proto');

/** A Nacos message on the wire: its type name and its JSON body. */
export interface Payload {
  metadata?: { type?: string; clientIp?: string; headers?: Record<string, string> } | null;
  body?: { type_url?: string; value?: Uint8Array } | null;
}

/** A decoded message body: Nacos sends JSON objects whose field types vary between servers. */
export type Body = Record<string, unknown>;

/** The two methods of a Nacos 2.x server: unary requests and the bi-directional connection stream. */
export interface NacosMethods {
  readonly request: MethodDefinition<Payload, Payload>;
  readonly requestBiStream: MethodDefinition<Payload, Payload>;
}

let methods: NacosMethods | undefined;

/** Loads the proto once and returns the method definitions (paths and codecs). */
export function nacosMethods(): NacosMethods {
  if (!methods) {
    const definition = loadSync(PROTO_FILE, { keepCase: true, defaults: true });
    const request = definition['Request'] as Record<string, MethodDefinition<Payload, Payload>>;
    const stream = definition['BiRequestStream'] as Record<string, MethodDefinition<Payload, Payload>>;
    methods = { request: request['request']!, requestBiStream: stream['requestBiStream']! };
  }
  return methods;
}

/** Wraps a message for the wire. */
export function encodePayload(type: string, body: Body, clientIp: string, headers: Record<string, string> = {}): Payload {
  return {
    metadata: { type, clientIp, headers },
    body: { value: Buffer.from(JSON.stringify(body), 'utf8') },
  };
}

/** Unwraps a message from the wire; a body that is not a JSON object decodes as `{}`. */
export function decodePayload(payload: Payload): { type: string; body: Body } {
  const type = payload.metadata?.type ?? '';
  const value = payload.body?.value;
  if (!value || value.length === 0) return { type, body: {} };
  try {
    const body: unknown = JSON.parse(Buffer.from(value).toString('utf8'));
    return { type, body: typeof body === 'object' && body !== null ? (body as Body) : {} };
  } catch {
    return { type, body: {} };
  }
}
