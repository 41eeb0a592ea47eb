import { Writable } from 'node:stream';
import pino from 'pino';
import { AmqpConnection } from '../../src/broker/amqp-connection.js';
import { ConfirmedPublisher, MAX_REFUSALS } from '../../src/broker/confirmed-publisher.js';
import type { PublishOptions } from '../../src/broker/types.js';
import { isWorkerError } from '../../src/util/errors.js';
import { BrokerProbe, RABBITMQ_URL, uniqueQueueEnv, type Collector } from '../helpers/broker-probe.js';

/** A logger whose lines the test can read. */
function recordingLogger() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const options = (messageId: string, over: Partial<PublishOptions> = {}): PublishOptions => ({ messageId, type: 'test', contentType: 'application/json', ...over });

/** Fails fast (instead of at the test timeout) when publishing is wedged. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms: publishing is stuck`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Settles a publish into what became of it: confirmed, or the error code it was rejected with. */
const outcome = (p: Promise<void>) =>
  p.then(
    () => 'confirmed',
    (err: unknown) => (isWorkerError(err) ? err.code : `other: ${String(err)}`),
  );

describe('ConfirmedPublisher against the real broker', () => {
  let probe: BrokerProbe;
  let queue: string;
  let received: Collector;
  let connection: AmqpConnection;
  let publisher: ConfirmedPublisher;
  let lines: ReturnType<typeof recordingLogger>['lines'];

  beforeEach(async () => {
    probe = await BrokerProbe.connect();
    queue = uniqueQueueEnv('publisher').QUEUE_SESSION_COMMANDS!;
    received = await probe.collect(queue);
    const rec = recordingLogger();
    lines = rec.lines;
    connection = new AmqpConnection({ url: RABBITMQ_URL, connectionName: 'confirmed-publisher test', logger: rec.logger });
    publisher = new ConfirmedPublisher(connection, rec.logger);
  });

  afterEach(async () => {
    publisher.close();
    await connection.close();
    await probe.close();
  });

  const send = (id: string, over: Partial<PublishOptions> = {}) => publisher.publish('', queue, Buffer.from(JSON.stringify({ id })), options(id, over));
  const arrivedIds = () => received.messages.map((m) => m.raw.properties.messageId as string);

  it('rejects a message amqplib cannot encode with UNPUBLISHABLE, at error level, and keeps publishing the ones after it, in order', async () => {
    await connection.start();
    const results = await within(10_000, Promise.all([
      outcome(send('m1')),
      outcome(send('m2')),
      // A header table beyond amqplib's 64 KB encoding buffer.
      outcome(send('huge', { headers: { big: 'x'.repeat(70_000) } })),
      outcome(send('m3')),
      // What amqplib decodes from a timestamp header of 2^64-1: a Number it cannot encode again.
      outcome(send('timestamp', { headers: { ts: { '!': 'timestamp', value: 2 ** 64 } } })),
      outcome(send('m4')),
      outcome(send('m5')),
    ]), 'the publishes');
    expect(results).toEqual(['confirmed', 'confirmed', 'UNPUBLISHABLE', 'confirmed', 'UNPUBLISHABLE', 'confirmed', 'confirmed']);
    await received.until((bs) => bs.length >= 5, 10_000, 'five messages');
    expect(arrivedIds()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(publisher.unpublishable).toBe(2);
    expect(publisher.outboxSize).toBe(0);
    expect(publisher.outboxOldestAgeMs).toBe(0);
    const errors = lines.filter((l) => l.level === 50 && l.msg === 'message cannot be published; dropping it');
    expect(errors.map((l) => l.messageId)).toEqual(['huge', 'timestamp']);

    // And it goes on publishing afterwards.
    await expect(send('m6')).resolves.toBeUndefined();
    await received.until((bs) => bs.length >= 6, 10_000, 'm6');
    expect(arrivedIds()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  });

  it(`rejects a message the broker refuses by closing the channel after ${MAX_REFUSALS} tries, and still sends the others, in order`, async () => {
    await connection.start();
    const results = await within(10_000, Promise.all([
      outcome(send('a')),
      outcome(send('b')),
      // RabbitMQ closes the channel (PRECONDITION_FAILED): user_id is not the connection's user.
      outcome(send('forged', { userId: 'mallory' })),
      outcome(send('c')),
      outcome(send('d')),
    ]), 'the publishes');
    expect(results).toEqual(['confirmed', 'confirmed', 'UNPUBLISHABLE', 'confirmed', 'confirmed']);
    await received.until((bs) => new Set(bs.map((b) => b.id)).size >= 4, 10_000, 'a, b, c, d');
    // At least once: a message in flight when the channel died may arrive twice, but never out of order.
    const firstArrivals = [...new Set(arrivedIds())];
    expect(firstArrivals).toEqual(['a', 'b', 'c', 'd']);
    expect(publisher.unpublishable).toBe(1);
    const refused = lines.find((l) => l.level === 50 && l.messageId === 'forged');
    expect(String(refused?.why)).toMatch(new RegExp(`closed the channel ${MAX_REFUSALS} times.*PRECONDITION_FAILED`));
    // Connection losses are not refusals: the connection stayed up all along.
    expect(connection.disconnects).toBe(0);

    await expect(send('e')).resolves.toBeUndefined();
  });

  it('a message sent with the connection\'s own user id goes out (the refusal above is about the forged one)', async () => {
    await connection.start();
    await expect(send('own', { userId: 'guest' })).resolves.toBeUndefined();
    await received.until((bs) => bs.length >= 1, 10_000, 'own');
    expect(received.messages[0]!.raw.properties.userId).toBe('guest');
  });

  it('reports the age of the oldest message waiting while the broker is out of reach, and 0 once all are confirmed', async () => {
    const before = Date.now();
    const first = send('early');
    // Let some time pass with the message waiting (the broker is not connected yet).
    while (Date.now() - before < 50) await new Promise((r) => setTimeout(r, 5));
    const second = send('late');
    const age = publisher.outboxOldestAgeMs;
    expect(publisher.outboxSize).toBe(2);
    expect(age).toBeGreaterThanOrEqual(50);
    expect(age).toBeLessThanOrEqual(Date.now() - before);
    await connection.start();
    await Promise.all([first, second]);
    expect(publisher.outboxSize).toBe(0);
    expect(publisher.outboxOldestAgeMs).toBe(0);
    await received.until((bs) => bs.length >= 2, 10_000, 'both');
    expect(arrivedIds()).toEqual(['early', 'late']);
  });
});
