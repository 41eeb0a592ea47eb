import type { ErrorCode } from '../util/errors.js';
import { phoneField } from './session-identity.js';

export type CheckNumbersParse = { ok: true; phones: string[] } | { ok: false; code: ErrorCode; reason: string };

/**
 * The `check_numbers` phones (already shape-checked as an array of strings by the zod schema) →
 * their canonical forms (`+<E.164 digits>`, as `normalisePhone` gives them), each once, in the
 * order first asked; or the precise reason the batch is refused: missing or empty
 * (INVALID_COMMAND), more than `maxBatch` entries (BATCH_TOO_LARGE), an entry that is not a
 * phone number (INVALID_PHONE, naming its index). Runs at parse time: a batch that can never be
 * checked is dead-lettered at once.
 */
export function parseCheckNumbers(phones: readonly string[] | undefined, limits: { maxBatch: number }): CheckNumbersParse {
  if (phones === undefined || phones.length === 0) {
    return { ok: false, code: 'INVALID_COMMAND', reason: '"check_numbers" needs "phones", a non-empty array of phone numbers' };
  }
  if (phones.length > limits.maxBatch) {
    return {
      ok: false,
      code: 'BATCH_TOO_LARGE',
      reason: `"phones" has ${phones.length} entries, more than CHECK_NUMBERS_MAX_BATCH (${limits.maxBatch}); split the batch`,
    };
  }
  const canonical = new Set<string>();
  for (const [i, raw] of phones.entries()) {
    const phone = phoneField(raw, `phones[${i}]`);
    if (!phone.ok) return phone;
    canonical.add(phone.phone);
  }
  return { ok: true, phones: [...canonical] };
}
