import type { ContactPresence } from '../whatsapp/types.js';
import { Lru } from './lru.js';

/** PRESENCE_UPDATES_PER_SECOND: the most presence_update events one session publishes per second. */
export const PRESENCE_UPDATES_PER_SECOND = 10;
/** Chats whose latest state may wait for the next second; beyond, the oldest waiting one is dropped. */
const MAX_PENDING = 1000;
/** Chats (and contacts in them) whose last published state is remembered, to publish only changes. */
const REMEMBERED = 5000;

export interface PresenceRelayOptions {
  perSecond?: number;
  now?: () => number;
}

/**
 * Contacts' presence, from WhatsApp to the broker, bounded. Presence is ephemeral and any
 * contact can make it flap (online/offline, typing/paused) as fast as it likes, so:
 * - coalesced per chat and contact: a state equal to the last one published is dropped, and
 *   while one waits, a newer one replaces it (only the latest state of a chat matters);
 * - rate-capped per session: at most `perSecond` published per second; the rest wait, oldest
 *   first, for the next second (a flapping chat goes to the back, so it cannot starve the others).
 * Publishing never waits for the broker: the outbox keeps the order, and nothing is retried.
 */
export class PresenceRelay {
  private readonly lastPublished = new Lru<string, string>(REMEMBERED);
  private readonly pending = new Map<string, ContactPresence>();
  private readonly perSecond: number;
  private readonly now: () => number;
  private windowStart = -Infinity;
  private inWindow = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly publish: (update: ContactPresence) => void,
    opts: PresenceRelayOptions = {},
  ) {
    this.perSecond = opts.perSecond ?? PRESENCE_UPDATES_PER_SECOND;
    this.now = opts.now ?? Date.now;
  }

  offer(update: ContactPresence): void {
    const key = keyOf(update);
    this.pending.delete(key);
    if (this.lastPublished.get(key) === stateOf(update)) return;
    this.pending.set(key, update);
    if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value as string);
    this.drain();
  }

  /** How many states wait for the next second. */
  get waiting(): number {
    return this.pending.size;
  }

  /** The session's socket closed for good (shutdown, delete): what waits is dropped, no timer is left behind. */
  stop(): void {
    this.pending.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private drain(): void {
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    for (const [key, update] of this.pending) {
      if (this.inWindow >= this.perSecond) break;
      this.pending.delete(key);
      this.lastPublished.set(key, stateOf(update));
      this.inWindow += 1;
      this.publish(update);
    }
    if (this.pending.size > 0 && !this.timer) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.drain();
        },
        Math.max(1, this.windowStart + 1000 - now),
      );
      this.timer.unref();
    }
  }
}

const keyOf = (u: ContactPresence): string => `${u.chat}\0${u.from.pn ?? u.from.lid ?? ''}`;
const stateOf = (u: ContactPresence): string => `${u.presence}\0${u.lastSeen ?? ''}`;
