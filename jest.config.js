/** Jest runs the TypeScript sources as native ESM through @swc/jest (fast, no type-check; `npm run typecheck` does that). */
const swc = ['@swc/jest', {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
  module: { type: 'es6' },
}];

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60_000,
  // Integration and end-to-end tests share one broker and one machine of 2 cores.
  maxWorkers: 2,
};
