/** A test broker's name. */
export type BrokerKind = 'kafka' | 'rabbitmq' | 'redis';

/** Every broker the broker suites run against. */
export declare const BROKERS: readonly BrokerKind[];
/** Human names, for test titles. */
export declare const LABELS: Readonly<Record<BrokerKind, string>>;
/** The Kafka release the tests run (org.apache.kafka:kafka_2.13). */
export declare const KAFKA_VERSION: string;

/** A random Kafka cluster id (URL-safe base64 of 16 bytes), never one that starts with `-`. */
export declare function kafkaClusterId(): string;

/** One running test broker on loopback with throw-away data. */
export interface TestBroker {
  readonly kind: BrokerKind;
  readonly host: '127.0.0.1';
  /** The client port: Kafka's PLAINTEXT listener, AMQP, or Redis. */
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  /** What a client takes: `127.0.0.1:<port>` (Kafka brokers list), `amqp://127.0.0.1:<port>`, `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** The variable a client reads, e.g. `{ KAFKA_BROKERS: '127.0.0.1:<port>' }`. */
  readonly env: Readonly<Record<string, string>>;
  /** The broker's process id, also the id of its process group (every process it started but RabbitMQ's epmd). */
  readonly pid: number;
  /** The throw-away directory (data, logs, config), deleted on stop. */
  readonly dataDir: string;
  /** Stops the broker and every process it started (RabbitMQ's epmd too), then deletes its data. */
  stop(): Promise<void>;
  /** The last lines the broker wrote. */
  tail(): string;
}

/** A running Kafka broker: also its controller port and cluster id. */
export interface KafkaTestBroker extends TestBroker {
  readonly kind: 'kafka';
  readonly controllerPort: number;
  readonly clusterId: string;
}

/** A running RabbitMQ node: also its Erlang distribution and private epmd ports. */
export interface RabbitmqTestBroker extends TestBroker {
  readonly kind: 'rabbitmq';
  readonly distPort: number;
  readonly epmdPort: number;
  readonly nodename: string;
}

export interface StartBrokerOptions {
  /** The client port; a free one when omitted. */
  port?: number;
  /** Kafka only: server.properties settings added or overridden. */
  properties?: Record<string, string>;
  log?: (line: string) => void;
}

/** Starts one test broker on free loopback ports with throw-away data; resolves once it serves its protocol. */
export declare function startBroker(kind: 'kafka', options?: StartBrokerOptions): Promise<KafkaTestBroker>;
export declare function startBroker(kind: 'rabbitmq', options?: StartBrokerOptions): Promise<RabbitmqTestBroker>;
export declare function startBroker(kind: BrokerKind, options?: StartBrokerOptions): Promise<TestBroker>;

/** Installs/resolves every missing broker in parallel; rejects naming each that cannot be had. */
export declare function prepareBrokers(options?: { log?: (line: string) => void }): Promise<void>;
