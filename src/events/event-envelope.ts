import { z } from 'zod';

/** What every session and message event carries; the one place event schemas are built from. */
export const envelope = {
  numberId: z.number().int().nonnegative().describe("The backend's id of the WhatsApp number."),
  sessionId: z.string().describe('`session_<numberId>_<phone>`.'),
  workerId: z.string().describe('The worker that published the event.'),
  timestamp: z.number().int().describe('When the event happened, epoch milliseconds.'),
  eventId: z.string().uuid().describe('Unique per event; stable across re-publication, so consumers can de-duplicate.'),
  requestId: z.string().optional().describe('The `requestId` (or AMQP correlation_id) of the command that caused the event.'),
};

export const sessionEvent = <A extends string, S extends z.ZodRawShape>(action: A, description: string, shape: S) =>
  z.object({ action: z.literal(action), ...envelope, ...shape }).describe(description);

export const messageEvent = <A extends string, S extends z.ZodRawShape>(action: A, description: string, shape: S) =>
  z.object({ action: z.literal(action), ...envelope, ...shape }).describe(description);

export const messageId = z.string().describe('The WhatsApp message id (`key.id`).');
