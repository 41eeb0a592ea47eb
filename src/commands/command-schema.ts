import { z } from 'zod';
import { SESSION_ACTIONS } from './command.js';

/**
 * The wire shape of a command as the backend publishes it. Any field may sit at the top level
 * or inside `data` (the backend's `RabbitMQService.sendSessionUpdate` nests them); ids may be
 * strings or numbers. This schema is also the source of the AsyncAPI document.
 */
const numericId = z
  .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^[0-9]{1,15}$/, 'digits only')])
  .transform((v) => Number(v));

const workerId = z
  .union([z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits and . _ - only (at most 64)'), z.number().int().nonnegative()])
  .transform((v) => String(v));

export const commandFieldsSchema = z.object({
  numberId: numericId.optional().describe('The backend\'s id of the WhatsApp number.'),
  phoneNumber: z.string().max(32).optional().describe('The number as the backend stores it, e.g. "+221771234567".'),
  sessionId: z
    .union([z.string().max(200), z.number().int().nonnegative()])
    .optional()
    .describe('Either this worker\'s session id (`session_<numberId>_<phone>`), the backend\'s own session reference, or (top level, as the backend sends it) the numberId.'),
  workerId: workerId.optional().describe('The worker that must execute the command. Omitted: whichever worker receives it.'),
  requestId: z.string().min(1).max(200).optional().describe('Echoed on every event the command causes (the AMQP correlation_id is used when absent).'),
  timestamp: z.union([z.number(), z.string().max(64)]).optional().describe('When the backend issued the command.'),
});

export const commandMessageSchema = commandFieldsSchema
  .extend({
    action: z.enum(SESSION_ACTIONS).describe('What to do with the session.'),
    data: commandFieldsSchema.partial().loose().optional().describe('The same fields, nested (they win over top-level ones).'),
  })
  .loose()
  .describe('A command for a WhatsApp session, published by the backend.');

export type CommandMessage = z.infer<typeof commandMessageSchema>;
