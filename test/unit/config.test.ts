import { readFileSync, writeFileSync } from 'node:fs';
import { brokerUser, loadConfig, ConfigError, parseBrokerAddresses } from '../../src/config/config.js';
import { addressOrder, redactBrokerUrl } from '../../src/broker/amqp-connection.js';
import { envSchema } from '../../src/config/schema.js';

describe('configuration', () => {
  it('has a sensible default for everything in development', () => {
    const c = loadConfig({});
    expect(c.rabbitmq.urls).toEqual(['amqp://guest:guest@127.0.0.1:5672']);
    expect(c.maxSessions).toBe(50);
    expect(c.workerId).toMatch(/^dev-/);
    expect(c.queues).toEqual({
      commands: 'whatsapp.session.update',
      workerCommands: `whatsapp.session.update.${c.workerId}`,
      sessionEvents: 'whatsapp.session.events',
      numberHealth: 'whatsapp.number.health',
      deadLetter: 'whatsapp.session.update.dlq',
      eventsExchange: 'whatsapp.events',
      workerHeartbeat: 'whatsapp.worker.heartbeat',
      messageEvents: 'whatsapp.message.events',
    });
    expect(c.messaging).toEqual({
      sendWaitForOpenMs: 30_000,
      mediaMaxBytes: 16 * 1024 * 1024,
      mediaFetchTimeoutMs: 30_000,
      mediaFetchDeadlineMs: 120_000,
      mediaFetchAllowedHosts: [],
      historyFlushIntervalMs: 5000,
      historyEventBatch: 200,
    });
    expect(c.commandMaxBytes).toBe(64 * 1024);
    expect(c.rabbitmq.user).toBe('guest');
    expect(c.whatsapp.websocketUrl).toBe('wss://web.whatsapp.com/ws/chat');
    expect(c.warnings.join('\n')).toMatch(/UNENCRYPTED/);
  });

  it('reads the session and fleet policy it used to hard-code, with the former values as defaults', () => {
    const d = loadConfig({});
    expect([d.whatsapp.conflictWindowMs, d.whatsapp.pairingReadyTimeoutMs, d.restoreSettleTimeoutMs, d.standbyRetryMs]).toEqual([
      10 * 60_000,
      30_000,
      30_000,
      2000,
    ]);
    const c = loadConfig({ WA_CONFLICT_WINDOW_MS: '60000', WA_PAIRING_READY_TIMEOUT_MS: '5000', RESTORE_SETTLE_TIMEOUT_MS: '1000', STANDBY_RETRY_MS: '250' });
    expect([c.whatsapp.conflictWindowMs, c.whatsapp.pairingReadyTimeoutMs, c.restoreSettleTimeoutMs, c.standbyRetryMs]).toEqual([60_000, 5000, 1000, 250]);
    expect(() => loadConfig({ STANDBY_RETRY_MS: '0' })).toThrow(/STANDBY_RETRY_MS/);
  });

  it('caps the sockets opening at once worker-wide, 32 by default like restores', () => {
    expect(loadConfig({}).socketsOpeningMax).toBe(32);
    expect(loadConfig({ SOCKETS_OPENING_MAX: '4' }).socketsOpeningMax).toBe(4);
    expect(() => loadConfig({ SOCKETS_OPENING_MAX: '0' })).toThrow(/SOCKETS_OPENING_MAX/);
  });

  it('stops the start with a message naming the variable and what it expects', () => {
    const attempt = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(attempt({ WORKER_MAX_SESSIONS: 'lots' })).toMatch(/WORKER_MAX_SESSIONS/);
    expect(attempt({ RABBITMQ_URL: 'http://x' })).toMatch(/RABBITMQ_URL: an amqp:\/\/ or amqps:\/\/ URL/);
    expect(attempt({ QR_TERMINAL: 'maybe' })).toMatch(/QR_TERMINAL/);
    expect(attempt({ MEDIA_FETCH_ALLOWED_HOSTS: 'media.internal,10.0.0.0/99' })).toMatch(/MEDIA_FETCH_ALLOWED_HOSTS: "10.0.0.0\/99"/);
    expect(attempt({ PROXY_ALLOWED_HOSTS: 'proxy.internal,not a host' })).toMatch(/PROXY_ALLOWED_HOSTS: "not a host"/);
    expect(attempt({ WA_TRUST_ROOT_PUBLIC_KEY: 'abc', WA_WEBSOCKET_URL: 'ws://127.0.0.1:1/ws' })).toMatch(/WA_TRUST_ROOT_PUBLIC_KEY: 64 hex/);
    expect(attempt({ NODE_ENV: 'production', SESSION_ENCRYPTION_KEY: 'k' })).toMatch(/WORKER_ID: required when NODE_ENV=production/);
    expect(attempt({ NODE_ENV: 'production', WORKER_ID: 'w1' })).toMatch(/SESSION_ENCRYPTION_KEY: required/);
    expect(attempt({ MINIO_ENDPOINT: 'minio:9000' })).toMatch(/MINIO_ACCESS_KEY/);
  });

  it('honours the trust root only for a non-WhatsApp URL', () => {
    const key = 'ab'.repeat(32);
    expect(loadConfig({ WA_TRUST_ROOT_PUBLIC_KEY: key }).whatsapp.trustRootPublicKey).toBeUndefined();
    expect(loadConfig({ WA_TRUST_ROOT_PUBLIC_KEY: key, WA_WEBSOCKET_URL: 'wss://g.whatsapp.net/ws/chat' }).whatsapp.trustRootPublicKey).toBeUndefined();
    expect(loadConfig({ WA_TRUST_ROOT_PUBLIC_KEY: key, WA_WEBSOCKET_URL: 'ws://127.0.0.1:8765/ws/chat' }).whatsapp.trustRootPublicKey?.toString('hex')).toBe(
      key,
    );
  });

  it('reads secrets from *_FILE, parses MinIO endpoints as the backend writes them, and splits WA_VERSION', () => {
    const dir = process.env.TMPDIR ?? '/tmp';
    const file = `${dir}/wa-worker-secret-${process.pid}`;
    writeFileSync(file, 'amqps://u:p@broker:5671\n');
    const c = loadConfig({ RABBITMQ_URL_FILE: file, MINIO_ENDPOINT: 'localhost:9000', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b', WA_VERSION: '2.3000.123' });
    expect(c.rabbitmq.urls).toEqual(['amqps://u:p@broker:5671']);
    writeFileSync(file, 'amqps://u:p@node1:5671,node2:5671\n');
    expect(loadConfig({ RABBITMQ_URL_FILE: file }).rabbitmq.urls).toEqual(['amqps://u:p@node1:5671', 'amqps://u:p@node2:5671']);
    expect(c.storage.minio).toMatchObject({ endPoint: 'localhost', port: 9000, useSSL: false, bucket: 'whatsapp-sessions' });
    expect(c.whatsapp.version).toEqual([2, 3000, 123]);
    expect(loadConfig({ MINIO_ENDPOINT: 'https://s3.example.org', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b' }).storage.minio).toMatchObject({
      endPoint: 's3.example.org',
      useSSL: true,
    });
  });

  it('warns loudly when the events queue is the command queue', () => {
    const c = loadConfig({ QUEUE_SESSION_EVENTS: 'whatsapp.session.update' });
    expect(c.warnings.join('\n')).toMatch(/QUEUE_SESSION_EVENTS equals QUEUE_SESSION_COMMANDS/);
  });

  it('.env.example documents exactly the variables the schema reads', () => {
    const documented = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=')[0])
      .sort();
    expect(documented).toEqual(Object.keys(envSchema.shape).sort());
  });

  describe('broker addresses (a cluster)', () => {
    const error = (raw: string): string => {
      try {
        parseBrokerAddresses(raw);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };

    it('reads a comma-separated list of full URLs, in order', () => {
      const c = loadConfig({ RABBITMQ_URL: 'amqp://wa:s3cret@node1:5672/prod, amqp://wa:s3cret@node2:5673/prod ,amqps://wa:s3cret@node3/prod?heartbeat=5' });
      expect(c.rabbitmq.urls).toEqual(['amqp://wa:s3cret@node1:5672/prod', 'amqp://wa:s3cret@node2:5673/prod', 'amqps://wa:s3cret@node3/prod?heartbeat=5']);
      expect(c.rabbitmq.user).toBe('wa');
    });

    it("gives short host[:port] entries the first URL's scheme, credentials, vhost, query and (without their own) port", () => {
      expect(parseBrokerAddresses('amqps://wa%40w:p%2Cw@node1:5671/vh%2Fa?frameMax=8192,node2:5672,node3,[::1]:5673,10.0.0.4')).toEqual([
        'amqps://wa%40w:p%2Cw@node1:5671/vh%2Fa?frameMax=8192',
        'amqps://wa%40w:p%2Cw@node2:5672/vh%2Fa?frameMax=8192',
        'amqps://wa%40w:p%2Cw@node3:5671/vh%2Fa?frameMax=8192',
        'amqps://wa%40w:p%2Cw@[::1]:5673/vh%2Fa?frameMax=8192',
        'amqps://wa%40w:p%2Cw@10.0.0.4:5671/vh%2Fa?frameMax=8192',
      ]);
      expect(parseBrokerAddresses('amqp://127.0.0.1')).toEqual(['amqp://127.0.0.1']);
    });

    it('requires one broker user for every address, and says which differs without echoing a password', () => {
      const message = error('amqp://wa:pw1@node1,amqp://wa:pw2@node2,amqp://other:pw3@node3');
      expect(message).toMatch(/RABBITMQ_URL: address 3 logs in as "other" but address 1 as "wa": every address must name the same broker user/);
      expect(message).not.toMatch(/pw/);
      // No user is RabbitMQ's default, guest: the same as naming guest.
      expect(parseBrokerAddresses('amqp://node1,amqp://guest:guest@node2')).toHaveLength(2);
      expect(error('amqp://node1,amqp://wa:x@node2')).toMatch(/address 2 logs in as "wa" but address 1 as "guest"/);
      expect(() => loadConfig({ RABBITMQ_URL: 'amqp://a:x@n1,amqp://b:x@n2' })).toThrow(ConfigError);
    });

    it('rejects malformed lists', () => {
      expect(error('amqp://n1,,amqp://n2')).toMatch(/RABBITMQ_URL: an empty address/);
      expect(error('amqp://n1,')).toMatch(/RABBITMQ_URL: an empty address/);
      expect(error('amqp://n1,http://n2')).toMatch(/address 2 is not an amqp:\/\/ or amqps:\/\/ URL/);
      expect(error('amqp://n1,user:pw@n2')).toMatch(/address 2 is neither a URL nor host\[:port\]/);
      expect(error('amqp://n1,n2:99999')).toMatch(/address 2 is neither a URL nor host\[:port\]/);
      expect(error('amqp://n1,n2/vh')).toMatch(/address 2 is neither/);
    });
  });

  describe('broker address rotation', () => {
    it('starts at the given address and wraps around, so the address just lost comes last', () => {
      expect(addressOrder(1, 0)).toEqual([0]);
      expect(addressOrder(3, 0)).toEqual([0, 1, 2]);
      expect(addressOrder(3, 1)).toEqual([1, 2, 0]);
      expect(addressOrder(3, 2)).toEqual([2, 0, 1]);
      expect(addressOrder(3, 4)).toEqual([1, 2, 0]);
    });

    it('logs an address without its password or query', () => {
      expect(redactBrokerUrl('amqps://wa:s3cret@node2:5671/prod?password=x')).toBe('amqps://wa@node2:5671/prod');
      expect(redactBrokerUrl('amqp://127.0.0.1:5672')).toBe('amqp://127.0.0.1:5672');
    });
  });

  describe('the broker user', () => {
    it("is the URL's decoded user name, guest when it has none", () => {
      expect(brokerUser('amqp://guest:guest@127.0.0.1:5672')).toBe('guest');
      expect(brokerUser('amqps://wa%40worker:s3cr%3At@rabbit.internal/vh')).toBe('wa@worker');
      expect(brokerUser('amqp://127.0.0.1')).toBe('guest');
      expect(brokerUser('amqp://%E0%A4%A@host')).toBe('%E0%A4%A');
    });
  });
});
