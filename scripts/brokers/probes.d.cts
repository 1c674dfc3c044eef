/** Redis' reply to PING ("PONG"), over one loopback socket. */
export declare function redisPing(port: number, options?: { timeoutMs?: number; host?: string }): Promise<string>;
/** The AMQP 0-9-1 connection.start a broker sends after the protocol header. */
export declare function amqpHello(port: number, options?: { timeoutMs?: number; host?: string }): Promise<{ versionMajor: number; versionMinor: number }>;
/** The API version ranges a Kafka broker answers ApiVersions v0 with. */
export declare function kafkaApiVersions(port: number, options?: { timeoutMs?: number; host?: string }): Promise<Array<{ apiKey: number; min: number; max: number }>>;
/** A size-prefixed Kafka request frame (header v1: api key, version, correlation id, client id) with `body`. */
export declare function kafkaRequest(apiKey: number, apiVersion: number, correlationId: number, body?: Buffer, clientId?: string): Buffer;
/** The body of a complete Kafka response with `correlationId` in `buffer`, or undefined while incomplete. */
export declare function kafkaResponse(buffer: Buffer, correlationId: number): Buffer | undefined;
/** Writes `request` on a fresh loopback connection; resolves with the first defined `parse(buffer)`. */
export declare function exchange<T>(port: number, request: Buffer | string, parse: (buffer: Buffer) => T | undefined, options?: { timeoutMs?: number; host?: string }): Promise<T>;
