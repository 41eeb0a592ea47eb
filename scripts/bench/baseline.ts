/**
 * Bare Baileys: `makeWASocket` directly, with an in-memory auth state (`initAuthCreds()` and a
 * Map-backed key store), the same fixed version, emulator URL and socket options as the worker's
 * connector (src/whatsapp/baileys-connector.ts), and the same Noise-root trust override (set by
 * the caller: `trustedEmulator()` in the runner, `trustFromHex()` in a child).
 */
import makeWASocket, {
  Browsers,
  BufferJSON,
  DEFAULT_CONNECTION_CONFIG,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataTypeMap,
  type WASocket,
} from '@whiskeysockets/baileys';
import pino from 'pino';

export const WA_VERSION = DEFAULT_CONNECTION_CONFIG.version;
const silent = pino({ level: process.env.BENCH_BAILEYS_LOG_LEVEL ?? 'silent' });

type KeyType = keyof SignalDataTypeMap;
export type KeyData = { [T in KeyType]?: { [id: string]: unknown } };

export interface MemoryAuth {
  state: AuthenticationState;
  /** type → id → value */
  data: Map<KeyType, Map<string, unknown>>;
}

export function memoryAuth(creds: AuthenticationCreds = initAuthCreds(), keys: KeyData = {}): MemoryAuth {
  const data = new Map<KeyType, Map<string, unknown>>();
  for (const [type, entries] of Object.entries(keys) as Array<[KeyType, Record<string, unknown>]>) data.set(type, new Map(Object.entries(entries)));
  const state: AuthenticationState = {
    creds,
    keys: {
      get: async <T extends KeyType>(type: T, ids: string[]) => {
        const out: { [id: string]: SignalDataTypeMap[T] } = {};
        const map = data.get(type);
        if (!map) return out;
        for (const id of ids) {
          let v = map.get(id);
          if (v === undefined) continue;
          if (type === 'app-state-sync-key' && !(v instanceof proto.Message.AppStateSyncKeyData)) v = proto.Message.AppStateSyncKeyData.fromObject(v as object);
          out[id] = v as SignalDataTypeMap[T];
        }
        return out;
      },
      set: async (set) => {
        for (const [type, entries] of Object.entries(set) as Array<[KeyType, Record<string, unknown> | undefined]>) {
          let map = data.get(type);
          if (!map) data.set(type, (map = new Map()));
          for (const [id, v] of Object.entries(entries ?? {})) {
            if (v === null || v === undefined) map.delete(id);
            else map.set(id, v);
          }
        }
      },
    },
  };
  return { state, data };
}

export function keyData(auth: MemoryAuth): KeyData {
  const out: KeyData = {};
  for (const [type, map] of auth.data) out[type] = Object.fromEntries(map);
  return out;
}

export interface BareHandlers {
  onQr?: (qr: string) => void;
  onOpen?: () => void;
  /** A close that is not the 515 restart after pairing (which reconnects at once, as a bare app does). */
  onClose?: (statusCode: number | undefined) => void;
}

/** One bare Baileys client: reconnects once on 515 with the same auth (the documented flow), nothing else. */
export class BareClient {
  sock: WASocket | undefined;
  private ended = false;

  constructor(
    private readonly url: string,
    readonly auth: MemoryAuth,
    private readonly handlers: BareHandlers,
  ) {}

  start(): void {
    if (this.ended) return;
    const sock = makeWASocket({
      waWebSocketUrl: this.url,
      version: WA_VERSION,
      auth: this.auth.state,
      logger: silent as never,
      browser: Browsers.ubuntu('Chrome'),
      markOnlineOnConnect: false,
      syncFullHistory: false,
      generateHighQualityLinkPreview: false,
      fireInitQueries: true,
      getMessage: async () => undefined,
    });
    this.sock = sock;
    sock.ev.on('connection.update', (u) => {
      if (this.ended) return;
      if (u.qr) this.handlers.onQr?.(u.qr);
      if (u.connection === 'open') this.handlers.onOpen?.();
      if (u.connection === 'close') {
        const code = (u.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
        if (code === 515) this.start();
        else this.handlers.onClose?.(code);
      }
    });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    try {
      void this.sock?.end(undefined);
    } catch {
      // already closed
    }
  }
}

/** Resolves when the client opens (rejects on another close or after `timeoutMs`). */
export function openClient(
  url: string,
  auth: MemoryAuth,
  timeoutMs: number,
  onQr?: (qr: string, client: BareClient) => void,
): { client: BareClient; opened: Promise<void> } {
  let client!: BareClient;
  const opened = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bare client did not open within ${timeoutMs} ms`)), timeoutMs);
    client = new BareClient(url, auth, {
      onQr: (qr) => onQr?.(qr, client),
      onOpen: () => {
        clearTimeout(timer);
        resolve();
      },
      onClose: (code) => {
        clearTimeout(timer);
        reject(new Error(`bare client closed with ${code}`));
      },
    });
  });
  client.start();
  return { client, opened };
}

/** Linked credentials and keys of one account, reusable for logins without a QR. */
export interface Seed {
  numberId: number;
  phone: string;
  creds: AuthenticationCreds;
  keys: KeyData;
}

export function serializeSeeds(seeds: Seed[]): string {
  return JSON.stringify(seeds, BufferJSON.replacer);
}

export function parseSeeds(text: string): Seed[] {
  return JSON.parse(text, BufferJSON.reviver) as Seed[];
}

/** A fresh in-memory auth state from a seed (creds deep-copied, so seeds stay reusable across rounds). */
export function authFromSeed(seed: Seed): MemoryAuth {
  const copy = parseSeeds(serializeSeeds([seed]))[0]!;
  return memoryAuth(copy.creds, copy.keys);
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function inLanes<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}
