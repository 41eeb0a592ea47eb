/**
 * Test helper: an unmodified Baileys socket pointed at the emulator, with
 * in-memory auth state that survives reconnects, and event waiters (no sleeps).
 */
import makeWASocket, { Browsers, initAuthCreds } from '@whiskeysockets/baileys';
import type {
  AuthenticationCreds,
  BaileysEventMap,
  ConnectionState,
  SignalDataSet,
  SignalDataTypeMap,
  SignalKeyStore,
  UserFacingSocketConfig,
  WASocket,
} from '@whiskeysockets/baileys';
import { pino } from 'pino';

/** Fixed so the client never needs the internet to fetch the latest version. */
export const WA_VERSION: [number, number, number] = [2, 3000, 1027934701];

export interface MemoryAuth {
  creds: AuthenticationCreds;
  keys: SignalKeyStore;
  data: Map<string, unknown>;
}

export function memoryAuth(): MemoryAuth {
  const data = new Map<string, unknown>();
  const keys: SignalKeyStore = {
    get: <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const id of ids) {
        const v = data.get(`${type}:${id}`);
        if (v !== undefined) out[id] = v as SignalDataTypeMap[T];
      }
      return out;
    },
    set: (set: SignalDataSet) => {
      for (const [type, entries] of Object.entries(set)) {
        for (const [id, v] of Object.entries(entries ?? {})) {
          if (v === null || v === undefined) data.delete(`${type}:${id}`);
          else data.set(`${type}:${id}`, v);
        }
      }
    },
  };
  return { creds: initAuthCreds(), keys, data };
}

type Update = Partial<ConnectionState>;

/**
 * Baileys' prekey upload races the upload against a 30 s setTimeout (UPLOAD_TIMEOUT) that is
 * never cleared, keeping a process alive 30 s after any upload. Tests that let the client
 * upload its 812 prekeys call this to unref exactly those timers. Returns an undo function.
 */
export function unrefPrekeyUploadTimers(): () => void {
  const real = globalThis.setTimeout;
  const patched = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t = real(fn, ms, ...args);
    if (ms === 30_000) t.unref();
    return t;
  }) as typeof setTimeout;
  globalThis.setTimeout = Object.assign(patched, real);
  return () => {
    globalThis.setTimeout = real;
  };
}

/** One Baileys socket plus a log of its connection updates. */
export class TestClient {
  readonly sock: WASocket;
  readonly updates: Update[] = [];
  private readonly listeners = new Set<() => void>();
  readonly messages: BaileysEventMap['messages.upsert'][] = [];
  /** Every history set Baileys emitted (recorded before waiters are told, so a `waitFor` on them sees it). */
  readonly histories: BaileysEventMap['messaging-history.set'][] = [];
  readonly messageUpdates: BaileysEventMap['messages.update'] = [];

  constructor(
    url: string,
    readonly auth: MemoryAuth,
    extra: Partial<UserFacingSocketConfig> = {},
  ) {
    this.sock = makeWASocket({
      waWebSocketUrl: url,
      auth: { creds: auth.creds, keys: auth.keys },
      logger: pino({ level: process.env.BAILEYS_LOG ?? 'silent' }),
      version: WA_VERSION,
      browser: Browsers.ubuntu('Chrome'),
      markOnlineOnConnect: false,
      syncFullHistory: false,
      connectTimeoutMs: 20_000,
      // Baileys' end() removes the ws 'close' listeners, so queries still in flight when a test
      // ends a socket (e.g. the init queries right after 'open') only settle at this timeout and
      // keep the process alive until then (default 60 s)
      defaultQueryTimeoutMs: 5_000,
      ...extra,
    });
    this.sock.ev.on('connection.update', (u) => {
      this.updates.push(u);
      this.notify();
    });
    this.sock.ev.on('creds.update', () => this.notify());
    this.sock.ev.on('messages.update', (u) => {
      this.messageUpdates.push(...u);
      this.notify();
    });
    this.sock.ev.on('messages.upsert', (m) => {
      this.messages.push(m);
      this.notify();
    });
    this.sock.ev.on('messaging-history.set', (set) => {
      this.histories.push(set);
      this.notify();
    });
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves with the first value `pick` returns (checked on past and future events). */
  waitFor<T>(pick: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const v = pick();
        if (v === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(v);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; updates: ${JSON.stringify(this.updates.map((u) => ({ ...u, qr: u.qr ? 'qr' : undefined, lastDisconnect: u.lastDisconnect ? (u.lastDisconnect.error as { output?: { statusCode?: number } })?.output?.statusCode : undefined })))}`,
          ),
        );
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Resolves with the first upserted message whose text matches. */
  received(text: string, timeoutMs = 15_000): Promise<{ type: string; msg: BaileysEventMap['messages.upsert']['messages'][number] }> {
    return this.waitFor(
      () => {
        for (const batch of this.messages) {
          for (const m of batch.messages) {
            const body = m.message?.conversation ?? m.message?.extendedTextMessage?.text;
            if (body === text) return { type: batch.type, msg: m };
          }
        }
        return undefined;
      },
      timeoutMs,
      `message "${text}"`,
    );
  }

  /** Highest status (proto.WebMessageInfo.Status) seen for a sent message id, via upsert or update. */
  statusOf(id: string): number {
    let best = -1;
    for (const b of this.messages) for (const m of b.messages) if (m.key.id === id) best = Math.max(best, m.status ?? -1);
    for (const u of this.messageUpdates) if (u.key.id === id) best = Math.max(best, u.update.status ?? -1);
    return best;
  }

  /** The n-th (0-based) QR the client displayed. */
  qr(n = 0, timeoutMs = 15_000): Promise<string> {
    return this.waitFor(() => this.updates.filter((u) => u.qr).map((u) => u.qr as string)[n], timeoutMs, `QR #${n + 1}`);
  }

  opened(timeoutMs = 15_000): Promise<true> {
    return this.waitFor(() => (this.updates.some((u) => u.connection === 'open') ? true : undefined), timeoutMs, 'connection open');
  }

  /** Open, and the queries Baileys fires on open (props, blocklist, privacy...) answered. */
  async ready(timeoutMs = 15_000): Promise<void> {
    await this.opened(timeoutMs);
    await this.settled();
  }

  /** Status code of the close (lastDisconnect.error.output.statusCode). */
  closed(timeoutMs = 15_000): Promise<number> {
    return this.waitFor(
      () => {
        const u = this.updates.find((x) => x.connection === 'close');
        if (!u) return undefined;
        const err = u.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined;
        return err?.output?.statusCode ?? -1;
      },
      timeoutMs,
      'connection close',
    );
  }

  /** Queries the client sent and still waits for (Baileys listens on `TAG:<id>` per query). */
  pendingQueries(): number {
    return this.sock.ws.eventNames().filter((n) => typeof n === 'string' && n.startsWith('TAG:')).length;
  }

  /** Resolves when no query is in flight (checked after every received frame). */
  settled(timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve) => {
      const ws = this.sock.ws;
      const done = (): void => {
        clearTimeout(timer);
        ws.off('frame', onFrame);
        resolve();
      };
      const onFrame = (): void => {
        setImmediate(() => {
          if (this.pendingQueries() === 0) done();
        });
      };
      const timer = setTimeout(done, timeoutMs);
      ws.on('frame', onFrame);
      if (this.pendingQueries() === 0) done();
    });
  }

  /** Ends the socket (if still open) and waits for its close event. */
  async end(): Promise<void> {
    if (!this.updates.some((u) => u.connection === 'close')) {
      // queries left in flight at end() would only settle at defaultQueryTimeoutMs (see above)
      await this.settled(5_000);
      void this.sock.end(undefined);
      await this.closed(10_000).catch(() => undefined);
    }
  }
}
