import type { Telemetry } from '../telemetry/types.js';

/**
 * Runs a command's way through its number's lane in the `session lane` span (telemetry on): from
 * queueing (after the number's restore) until what the command caused is confirmed, with the
 * wait for the lane as `wa.lane.wait_ms`. `run` is handed `started`, to call when the lane is its.
 */
export function inLaneSpan(
  telemetry: Telemetry | undefined,
  attributes: { action: string; numberId: number },
  run: (started: () => void) => Promise<void>,
): Promise<void> {
  if (!telemetry?.enabled) return run(() => undefined);
  const queuedAt = performance.now();
  let startedAt = 0;
  return telemetry.span('session lane', { 'wa.action': attributes.action, 'wa.number_id': attributes.numberId }, async (span) => {
    try {
      await run(() => (startedAt = performance.now()));
    } finally {
      if (startedAt) span.setAttributes({ 'wa.lane.wait_ms': Math.round(startedAt - queuedAt) });
    }
  });
}
