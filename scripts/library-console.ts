/**
 * libsignal (inside Baileys and the emulator) prints session internals with console.info/warn/
 * error/debug: not the output of a bench or chaos run, which report on stdout themselves.
 */
export function silenceLibraryConsole(): void {
  const noop = () => undefined;
  console.info = noop;
  console.warn = noop;
  console.error = noop;
  console.debug = noop;
}
