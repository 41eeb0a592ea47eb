import { AmqpConnection } from '../../src/broker/amqp-connection.js';
import { ConfirmedPublisher, MAX_REFUSALS } from '../../src/broker/confirmed-publisher.js';
import type { PublishOptions } from '../../src/broker/types.js';
import { isWorkerError } from '../../src/util/errors.js';
import { BrokerProbe, RABBITMQ_URL, uniqueQueueEnv, type Collector } from '../helpers/broker-probe.js';
import { recordingLogger, type LogLine } from '../helpers/recording-logger.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { nextEvent, within } from '../helpers/wait.js';

const options = (messageId: string, over: Partial<PublishOptions> = {}): PublishOptions => ({
  messageId,
  type: 'test',
  contentType: 'application/json',
  ...over,
});

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
  let lines: LogLine[];
  let proxy: TcpProxy | undefined;

  /** The connection and publisher under test: through `url` (default: the broker itself), at most `maxInFlight` unconfirmed. */
  const setup = (opts: { url?: string; maxInFlight?: number } = {}) => {
    const rec = recordingLogger();
    lines = rec.lines;
    connection = new AmqpConnection({
      url: opts.url ?? RABBITMQ_URL,
      connectionName: 'confirmed-publisher test',
      logger: rec.logger,
      reconnectMaxDelayMs: 500,
    });
    publisher = new ConfirmedPublisher(connection, rec.logger, opts.maxInFlight);
  };

  beforeEach(async () => {
    probe = await BrokerProbe.connect();
    queue = uniqueQueueEnv('publisher').QUEUE_SESSION_COMMANDS!;
    received = await probe.collect(queue);
    setup();
  });

  afterEach(async () => {
    publisher.close();
    await connection.close();
    await proxy?.close();
    proxy = undefined;
    await probe.close();
  });

  const send = (id: string, over: Partial<PublishOptions> = {}) => publisher.publish('', queue, Buffer.from(JSON.stringify({ id })), options(id, over));
  const arrivedIds = () => received.messages.map((m) => m.raw.properties.messageId as string);
  /** Each message id at its first arrival: delivery is at least once, so a repeat is allowed, a reordering is not. */
  const firstArrivals = () => [...new Set(arrivedIds())];

  it('rejects a message amqplib cannot encode with UNPUBLISHABLE, at error level, and keeps publishing the ones after it, in order', async () => {
    await connection.start();
    const results = await within(
      Promise.all([
        outcome(send('m1')),
        outcome(send('m2')),
        // A header table beyond amqplib's 64 KB encoding buffer.
        outcome(send('huge', { headers: { big: 'x'.repeat(70_000) } })),
        outcome(send('m3')),
        // What amqplib decodes from a timestamp header of 2^64-1: a Number it cannot encode again.
        outcome(send('timestamp', { headers: { ts: { '!': 'timestamp', value: 2 ** 64 } } })),
        outcome(send('m4')),
        outcome(send('m5')),
      ]),
      10_000,
      'the publishes (publishing is stuck)',
    );
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
    const results = await within(
      Promise.all([
        outcome(send('a')),
        outcome(send('b')),
        // RabbitMQ closes the channel (PRECONDITION_FAILED): user_id is not the connection's user.
        outcome(send('forged', { userId: 'mallory' })),
        outcome(send('c')),
        outcome(send('d')),
      ]),
      10_000,
      'the publishes (publishing is stuck)',
    );
    expect(results).toEqual(['confirmed', 'confirmed', 'UNPUBLISHABLE', 'confirmed', 'confirmed']);
    await received.until((bs) => new Set(bs.map((b) => b.id)).size >= 4, 10_000, 'a, b, c, d');
    // At least once: a message in flight when the channel died may arrive twice, but never out of order.
    expect(firstArrivals()).toEqual(['a', 'b', 'c', 'd']);
    expect(publisher.unpublishable).toBe(1);
    const refused = lines.find((l) => l.level === 50 && l.messageId === 'forged');
    expect(String(refused?.why)).toMatch(new RegExp(`closed the channel ${MAX_REFUSALS} times.*PRECONDITION_FAILED`));
    // Connection losses are not refusals: the connection stayed up all along.
    expect(connection.disconnects).toBe(0);

    await expect(send('e')).resolves.toBeUndefined();
  });

  it("a message sent with the connection's own user id goes out (the refusal above is about the forged one)", async () => {
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
  // The guarantees of the outbox under loss. `maxInFlight` 2, so that when the channel or the
  // connection goes, some messages are unconfirmed on the wire and others still wait behind them:
  // only then does it matter where the unconfirmed ones go back.

  it('a channel the broker closes with messages in flight and more waiting: the unconfirmed go back to the head of the outbox, in order', async () => {
    setup({ maxInFlight: 2 });
    await connection.start();
    // `forged` makes the broker close the channel; `a`, on the wire behind it, is discarded with
    // the channel (never confirmed); b, c and d wait in the outbox.
    const results = await within(
      Promise.all([outcome(send('forged', { userId: 'mallory' })), outcome(send('a')), outcome(send('b')), outcome(send('c')), outcome(send('d'))]),
      15_000,
      'the publishes (publishing is stuck)',
    );
    expect(results).toEqual(['UNPUBLISHABLE', 'confirmed', 'confirmed', 'confirmed', 'confirmed']);
    await received.until((bs) => new Set(bs.map((b) => b.id)).size >= 4, 10_000, 'a, b, c, d');
    expect(firstArrivals()).toEqual(['a', 'b', 'c', 'd']);
    expect(connection.disconnects).toBe(0);
  });

  it('a connection lost with messages in flight and more waiting: on reconnection all go out, the unconfirmed first, in order, none dropped', async () => {
    proxy = new TcpProxy();
    await proxy.start();
    setup({ url: proxy.url(), maxInFlight: 2 });
    await connection.start();
    // From here nothing reaches the broker and nothing comes back: m1 and m2 are sent and can
    // never be confirmed; m3, m4 and m5 wait behind them.
    proxy.hold();
    const ids = ['m1', 'm2', 'm3', 'm4', 'm5'];
    const publishes = ids.map((id) => send(id));
    expect(publisher.outboxSize).toBe(5);
    const lost = nextEvent(connection, 'disconnected', 10_000, "the publisher's connection to notice the cut");
    proxy.cut();
    await lost;
    expect(publisher.outboxSize).toBe(5);
    expect(received.messages).toHaveLength(0);

    proxy.restore();
    // Bounded well below any test timeout: a message dropped on the connection loss shows here, by name.
    await within(Promise.all(publishes), 15_000, 'every publish to be confirmed after the reconnection (an unconfirmed message was dropped?)');
    await received.until((bs) => new Set(bs.map((b) => b.id)).size >= 5, 10_000, 'all five messages');
    expect(firstArrivals()).toEqual(ids);
    expect(publisher.outboxSize).toBe(0);
    expect(connection.disconnects).toBe(1);
  });
  it('a confirm lost with the connection: the message is sent again under the same message id (at least once); de-duplicated by id, nothing is missing or out of order', async () => {
    proxy = new TcpProxy();
    await proxy.start();
    setup({ url: proxy.url() });
    await connection.start();
    // The broker gets m1 and m2 and routes them, but its confirms never come back.
    proxy.hold('to-client');
    const publishes = ['m1', 'm2'].map((id) => send(id));
    await received.until((bs) => bs.length >= 2, 10_000, 'the broker to route m1 and m2');
    expect(publisher.outboxSize).toBe(2); // unconfirmed, as far as the worker knows
    const lost = nextEvent(connection, 'disconnected', 10_000, "the publisher's connection to notice the cut");
    proxy.cut();
    await lost;
    const m3 = send('m3');
    proxy.restore();
    await within(Promise.all([...publishes, m3]), 15_000, 'every publish to be confirmed after the reconnection');
    await received.until((bs) => bs.length >= 5, 10_000, 'the resent m1 and m2, then m3');
    // Each arrived twice with its id: a consumer that drops a repeat id sees m1, m2, m3 once each.
    expect(arrivedIds()).toEqual(['m1', 'm2', 'm1', 'm2', 'm3']);
    expect(firstArrivals()).toEqual(['m1', 'm2', 'm3']);
    expect(received.messages[2]!.raw.content.equals(received.messages[0]!.raw.content)).toBe(true);
  });
});
