import { classifyDisconnect } from '../../src/whatsapp/disconnect-reasons.js';
import { backoffDelay } from '../../src/util/backoff.js';

describe('classifyDisconnect', () => {
  const linked = { linked: true, qrShown: false };
  const pairing = { linked: false, qrShown: true };

  it.each([
    [515, linked, 'restart'],
    [515, pairing, 'restart'],
    [401, linked, 'logged_out'],
    [411, linked, 'logged_out'],
    [500, linked, 'logged_out'],
    [500, pairing, 'retry'],
    [403, linked, 'banned'],
    [402, linked, 'banned'],
    [440, linked, 'replaced'],
    [408, linked, 'retry'],
    [408, pairing, 'qr_expired'],
    [428, linked, 'retry'],
    [503, linked, 'retry'],
    [undefined, linked, 'retry'],
  ] as const)('%s (%o) → %s', (code, ctx, kind) => {
    expect(classifyDisconnect(code, ctx).kind).toBe(kind);
  });

  it('recognises the QR refs message even before a QR was shown', () => {
    expect(classifyDisconnect(408, { linked: false, qrShown: false, message: 'QR refs attempts ended' }).kind).toBe('qr_expired');
  });
});

describe('backoffDelay', () => {
  it('grows exponentially within [ceiling/2, ceiling] and is capped', () => {
    const opts = (r: number) => ({ baseMs: 100, maxMs: 1000, random: () => r });
    expect(backoffDelay(0, opts(0))).toBe(50);
    expect(backoffDelay(0, opts(0.999))).toBeLessThanOrEqual(100);
    expect(backoffDelay(3, opts(0))).toBe(400);
    expect(backoffDelay(10, opts(0.999))).toBeLessThanOrEqual(1000);
    expect(backoffDelay(10, opts(0))).toBe(500);
  });

  it('is randomised', () => {
    const values = new Set(Array.from({ length: 20 }, () => backoffDelay(5, { baseMs: 100, maxMs: 100_000 })));
    expect(values.size).toBeGreaterThan(1);
  });
});
