import { z } from 'zod';
import { commandMessageSchema } from '../commands/command-schema.js';
import { messageEventSchemas, numberHealthSchema, sessionEventSchemas, workerEventSchemas } from '../events/catalogue.js';
import { ROUTING } from '../broker/topology.js';

/**
 * The machine-readable queue contract (AsyncAPI 3.0), generated from the very zod schemas the
 * worker validates with. `npm run asyncapi` writes it to docs/asyncapi.json; a test fails when
 * the committed file and the code disagree.
 */
const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

/** One AsyncAPI message per catalogue schema, with the action as the AMQP type. */
function catalogueMessages(schemas: Record<string, z.ZodType>): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.entries(schemas).map(([action, schema]) => [
      action,
      {
        name: action,
        title: action,
        summary: schema.description,
        contentType: 'application/json',
        bindings: { amqp: { messageType: action, deliveryMode: 2, bindingVersion: '0.3.0' } },
        payload: jsonSchema(schema),
      },
    ]),
  );
}

export function buildAsyncApi(version: string): Record<string, unknown> {
  const eventMessages = catalogueMessages(sessionEventSchemas);
  const messageMessages = catalogueMessages(messageEventSchemas);
  const workerMessages = catalogueMessages(workerEventSchemas);
  const refs = (messages: Record<string, unknown>) => Object.fromEntries(Object.keys(messages).map((a) => [a, { $ref: `#/components/messages/${a}` }]));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'wa-worker queue contract',
      version,
      description:
        'Commands the backend publishes to the worker fleet, and the events the workers publish back. ' +
        'All queues are durable; events are persistent, carry a unique message id (= eventId) and the action as the AMQP type, ' +
        'and go through the `whatsapp.events` topic exchange. Queue and exchange names below are the defaults.',
    },
    defaultContentType: 'application/json',
    servers: { rabbitmq: { host: '127.0.0.1:5672', protocol: 'amqp', description: 'RABBITMQ_URL' } },
    channels: {
      sessionCommands: {
        address: 'whatsapp.session.update',
        description:
          'Shared command queue (QUEUE_SESSION_COMMANDS). Workers route each command, with a publisher confirm, to `whatsapp.session.update.<workerId>`.',
        messages: { command: { $ref: '#/components/messages/command' } },
        bindings: {
          amqp: { is: 'queue', queue: { name: 'whatsapp.session.update', durable: true, exclusive: false, autoDelete: false }, bindingVersion: '0.3.0' },
        },
      },
      workerCommands: {
        address: 'whatsapp.session.update.{workerId}',
        description: "One worker's own command queue, consumed by exactly one process (an exclusive consumer). A backend may publish here directly.",
        parameters: { workerId: { description: 'WORKER_ID of the target worker.' } },
        messages: { command: { $ref: '#/components/messages/command' } },
      },
      deadLetters: {
        address: 'whatsapp.session.update.dlq',
        description: 'Commands that could not be understood, unchanged, with headers x-error-code, x-error-reason, x-original-queue, x-dead-lettered-at.',
        messages: { command: { $ref: '#/components/messages/command' } },
      },
      sessionEvents: {
        address: 'whatsapp.session.events',
        description: `Session events (QUEUE_SESSION_EVENTS), bound to the events exchange with \`${ROUTING.sessionEvents}\`; routing key \`session.<action>\`.`,
        messages: refs(eventMessages),
      },
      messageEvents: {
        address: 'whatsapp.message.events',
        description: `Message events (QUEUE_MESSAGE_EVENTS), bound with \`${ROUTING.messageEvents}\`; routing key \`message.<action>\`.`,
        messages: refs(messageMessages),
      },
      numberHealth: {
        address: 'whatsapp.number.health',
        description: `Number health (QUEUE_NUMBER_HEALTH), bound with \`${ROUTING.numberHealth}\`; routing key \`health.<status>\`.`,
        messages: { number_health: { $ref: '#/components/messages/number_health' } },
      },
      workerHeartbeat: {
        address: 'whatsapp.worker.heartbeat',
        description: `Worker heartbeats (QUEUE_WORKER_HEARTBEAT), bound with \`${ROUTING.workerEvents}\`; routing key \`worker.<action>\`. Bounded: at most HEARTBEAT_QUEUE_MAX_LENGTH messages, each kept 10 minutes.`,
        messages: refs(workerMessages),
      },
    },
    operations: {
      sendCommand: { action: 'send', channel: { $ref: '#/channels/sessionCommands' }, summary: 'The backend commands a session.' },
      receiveSessionEvents: { action: 'receive', channel: { $ref: '#/channels/sessionEvents' }, summary: 'The backend learns what happened to a session.' },
      receiveMessageEvents: {
        action: 'receive',
        channel: { $ref: '#/channels/messageEvents' },
        summary: 'The backend learns what was sent, delivered, read and received.',
      },
      receiveNumberHealth: { action: 'receive', channel: { $ref: '#/channels/numberHealth' }, summary: "The backend tracks each number's health." },
      receiveHeartbeats: {
        action: 'receive',
        channel: { $ref: '#/channels/workerHeartbeat' },
        summary: 'The backend tracks which workers are up, their load and capacity.',
      },
      receiveDeadLetters: { action: 'receive', channel: { $ref: '#/channels/deadLetters' }, summary: 'Operators inspect commands that were refused.' },
    },
    components: {
      messages: {
        command: {
          name: 'command',
          summary: commandMessageSchema.description,
          contentType: 'application/json',
          description:
            "JSON is read whatever the content type (text/plain from Spring's default converter is fine). A Java-serialized body is dead-lettered (code JAVA_SERIALIZED): configure a JSON message converter.",
          payload: jsonSchema(commandMessageSchema),
        },
        ...eventMessages,
        ...messageMessages,
        ...workerMessages,
        number_health: {
          name: 'number_health',
          summary: numberHealthSchema.description,
          contentType: 'application/json',
          payload: jsonSchema(numberHealthSchema),
        },
      },
    },
  };
}
