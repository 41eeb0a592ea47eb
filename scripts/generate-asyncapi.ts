/** Writes docs/asyncapi.json from the zod schemas (`npm run asyncapi`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { buildAsyncApi } from '../src/contract/asyncapi.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
const target = new URL('../docs/asyncapi.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(buildAsyncApi(pkg.version), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
