import { jest } from '@jest/globals';
import { Writable } from 'node:stream';
import pino from 'pino';
import { routeLibsignalConsole } from '../../src/whatsapp/libsignal-console.js';

describe('libsignal console output', () => {
  it('never lets a Signal session record (private keys) reach stdout; keeps only the message text, in the log', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (c, _e, done) => (lines.push(c.toString()), done()) }));
    const printed: unknown[][] = [];
    const spies = (['info', 'warn', 'log', 'error'] as const).map((level) =>
      jest.spyOn(console, level).mockImplementation((...args: unknown[]) => void printed.push(args)),
    );
    const restore = routeLibsignalConsole(logger);
    try {
      const privKey = Buffer.from('a1b2c3d4e5f60718293a4b5c6d7e8f90', 'hex');
      console.info('Closing session:', { currentRatchet: { ephemeralKeyPair: { privKey } } });
      console.warn('Session already closed', { privKey });
      console.error('Failed to decrypt message with any known session...');
      console.info('an unrelated message', 42);
      expect(printed).toEqual([['an unrelated message', 42]]);
      const logged = lines.join('');
      expect(logged).toMatch(/Closing session:/);
      expect(logged).toMatch(/"level":40.*Failed to decrypt/);
      expect(logged).not.toMatch(/a1b2c3d4|privKey|"data":\[161/);
    } finally {
      restore();
      spies.forEach((s) => s.mockRestore());
    }
  });
});
