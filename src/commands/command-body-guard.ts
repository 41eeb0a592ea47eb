import type { ErrorCode } from '../util/errors.js';
import { scanJson, walkJson } from './bounded-json.js';
import { DEFAULT_MAX_DEPTH, type ParseLimits } from './parse-limits.js';

const JAVA_STREAM_MAGIC = Buffer.from([0xac, 0xed]);
/** Room for what wraps the base64 of a send_message: a `data:<mime>;base64,` prefix, padding. */
const MEDIA_ENVELOPE_BYTES = 4096;
/**
 * Keys plus elements a command may hold. A real command has a few dozen; the size limit
 * already bounds this, the cap bounds the walk whatever COMMAND_MAX_BYTES is set to.
 */
const MAX_JSON_VALUES = 100_000;

/** A JSON value, or why the body is refused (with the value, when it was parsed: the hint is read from it). */
export type DecodedBody = { ok: true; value: unknown } | { ok: false; code: ErrorCode; reason: string; value?: unknown };

/**
 * Body bytes → a JSON value, or why the body is refused. JSON is read whatever the content type
 * (Spring's default converter says text/plain or nothing at all); a Java-serialized body gets a
 * reason that tells the backend what to fix.
 *
 * The cost is bounded before anything expensive runs: the size is checked first (a body over
 * `maxBytes` is read only when it is a send_message carrying `base64` media, and then only when
 * everything but the media fits in `maxBytes`), the nesting depth by a linear scan, and the body
 * is parsed once, by a plain `JSON.parse`; forbidden keys are found by a bounded walk of the
 * result, which is also what the hint of a refused command is read from.
 */
export function decodeCommandBody(body: Buffer, contentType: string | undefined, limits: ParseLimits, maxMediaBytes: number): DecodedBody {
  const mediaAllowance = Math.ceil((maxMediaBytes * 4) / 3) + MEDIA_ENVELOPE_BYTES;
  if (body.length > limits.maxBytes + mediaAllowance) {
    return {
      ok: false,
      code: 'PAYLOAD_TOO_LARGE',
      reason: `payload of ${body.length} bytes exceeds COMMAND_MAX_BYTES (${limits.maxBytes}) plus the base64 of MEDIA_MAX_BYTES (${maxMediaBytes})`,
    };
  }
  if (body.length > limits.maxBytes && body.indexOf('"base64') === -1) {
    // Cheap, before anything else: only a body that mentions base64 media may be this large
    // (`"base64` also finds the key of a command encoded twice, `\\"base64\\"`).
    return {
      ok: false,
      code: 'PAYLOAD_TOO_LARGE',
      reason: `payload of ${body.length} bytes exceeds COMMAND_MAX_BYTES (${limits.maxBytes}) and carries no "base64" media`,
    };
  }
  if (contentType === 'application/x-java-serialized-object' || body.subarray(0, 2).equals(JAVA_STREAM_MAGIC)) {
    return {
      ok: false,
      code: 'JAVA_SERIALIZED',
      reason:
        "payload is a Java-serialized object; configure the backend's RabbitTemplate with a JSON message converter " +
        '(rabbitTemplate.setMessageConverter(new Jackson2JsonMessageConverter())) or send a JSON string',
    };
  }
  return decodeJson(body.toString('utf8'), body.length, limits, maxMediaBytes, true);
}

/**
 * Text → a JSON value, through the guards: size (the media allowance), depth, one plain parse,
 * the walk. A JSON string holding a JSON object (a String sent through Jackson arrives encoded
 * twice, `"{\\"action\\":…}"`) is unwrapped once, and its contents go through the same guards.
 * `size` is what is compared with the limits: the body's bytes, or the inner text's length.
 */
function decodeJson(text: string, size: number, limits: ParseLimits, maxMediaBytes: number, outer: boolean): DecodedBody {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  // The total was checked on the body (an inner text is never longer than its body).
  const large = size > limits.maxBytes;
  // A large body may hold at most maxBytes outside its base64 media: the scan stops there.
  const scan = scanJson(text, maxDepth, large ? limits.maxBytes : Infinity);
  if (!scan.ok && scan.kind === 'too-deep') {
    return {
      ok: false,
      code: 'INVALID_JSON',
      reason: `payload nesting too deep: more than ${maxDepth} levels of objects and arrays (COMMAND_MAX_DEPTH), at offset ${scan.offset}`,
    };
  }
  if (!scan.ok) {
    return {
      ok: false,
      code: 'PAYLOAD_TOO_LARGE',
      reason: `payload of ${size} bytes exceeds COMMAND_MAX_BYTES (${limits.maxBytes}) and more than that lies outside its "base64" media`,
    };
  }
  if (large && !(outer && scan.isString) && size - scan.base64ValueLength > limits.maxBytes) {
    return { ok: false, code: 'PAYLOAD_TOO_LARGE', reason: tooLargeApartFromMedia(size, scan.base64ValueLength, limits.maxBytes) };
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const why = (err as Error).message;
    return {
      ok: false,
      code: 'INVALID_JSON',
      reason: outer ? `payload is not valid JSON: ${why}` : `payload is a JSON string that does not hold valid JSON: ${why}`,
    };
  }
  if (typeof value === 'string') {
    if (outer && /^\s*\{/.test(value)) return decodeJson(value, value.length, limits, maxMediaBytes, false);
    if (!outer) return { ok: false, code: 'INVALID_JSON', reason: 'payload is a JSON string that does not contain a JSON object' };
  }

  const walk = walkJson(value, MAX_JSON_VALUES);
  if (!walk.ok) {
    return walk.kind === 'forbidden-key'
      ? { ok: false, code: 'FORBIDDEN_KEY', reason: `payload contains the forbidden key "${walk.key}" (at ${walk.path.slice(0, 100)})`, value }
      : { ok: false, code: 'INVALID_COMMAND', reason: `payload holds more than ${walk.limit} JSON values`, value };
  }
  if (large) {
    // The scan saw a large "base64" somewhere; it must be THE media of a send_message.
    const media = effectiveBase64(value);
    if (media === undefined) {
      return {
        ok: false,
        code: 'PAYLOAD_TOO_LARGE',
        reason: `payload of ${size} bytes exceeds COMMAND_MAX_BYTES (${limits.maxBytes}); only a send_message carrying "base64" media may be larger`,
        value,
      };
    }
    if (size - media.length > limits.maxBytes)
      return { ok: false, code: 'PAYLOAD_TOO_LARGE', reason: tooLargeApartFromMedia(size, media.length, limits.maxBytes), value };
  }
  return { ok: true, value };
}

/**
 * The `base64` a send_message would send, or the `picture.base64` of an update_profile (`data`
 * wins over the top level, as in parseCommand), if it is one.
 */
function effectiveBase64(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const obj = value as Record<string, unknown>;
  if (obj.action !== 'send_message' && obj.action !== 'update_profile') return undefined;
  const data = asObject(obj.data);
  const holder = (o: Record<string, unknown>) => (obj.action === 'send_message' ? o : asObject(o.picture));
  const fromData = data && holder(data);
  const fromTop = holder(obj);
  const media = fromData && Object.hasOwn(fromData, 'base64') ? fromData.base64 : fromTop && Object.hasOwn(fromTop, 'base64') ? fromTop.base64 : undefined;
  return typeof media === 'string' ? media : undefined;
}

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

function tooLargeApartFromMedia(size: number, mediaLength: number, maxBytes: number): string {
  return `payload of ${size} bytes is ${size - mediaLength} bytes apart from its "base64" media, more than COMMAND_MAX_BYTES (${maxBytes})`;
}
