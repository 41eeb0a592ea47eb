import type { OutgoingMessage } from '../commands/command.js';

/** The text that stands for a sent message in the history and in the quote of a later reply. */
export function summaryText(m: OutgoingMessage): string | undefined {
  switch (m.type) {
    case 'text':
      return m.text;
    case 'location':
      return m.name ?? m.address;
    case 'contact':
      return m.contacts[0]?.displayName;
    case 'poll':
      return m.name;
    case 'reaction':
      return m.emoji || undefined;
    default:
      return m.caption;
  }
}
