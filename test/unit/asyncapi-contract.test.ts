import { readFileSync } from 'node:fs';
import { buildAsyncApi } from '../../src/contract/asyncapi.js';
import { EVENT_ACTIONS } from '../../src/events/catalogue.js';

describe('the AsyncAPI contract', () => {
  it('docs/asyncapi.json is what the zod schemas generate (run `npm run asyncapi` after changing them)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const committed = JSON.parse(readFileSync(new URL('../../docs/asyncapi.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(buildAsyncApi(pkg.version));
  });

  it('documents every event with its "emitted when" and a payload schema', () => {
    const doc = buildAsyncApi('x') as any;
    for (const action of EVENT_ACTIONS) {
      expect(doc.components.messages[action].summary).toMatch(/^Emitted when/);
      expect(doc.components.messages[action].payload.properties.action.const).toBe(action);
    }
    expect(doc.components.messages.command.payload.properties.action.enum).toContain('create');
  });
});
