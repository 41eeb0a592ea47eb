/**
 * The dependency rule of src/, checked by `npm run depcheck` (dependency-cruiser) in CI.
 *
 *   util ← config ← boundaries (broker, storage, events, whatsapp: the drivers)
 *                 ← core (sessions, messaging): our own interfaces only, never a driver or its package
 *                 ← commands (parsing): never messaging
 *   worker.ts, compose.ts, main.ts wire it all; nothing in the core imports them.
 *
 * Type-only imports count (`tsPreCompilationDeps`): "sessions compiles without Baileys, amqplib
 * or minio" means their types too. A rule names what is forbidden; every violation names the
 * rule, so the message says what to do.
 */
const CORE = '^src/(sessions|messaging)/';
/** What the core may import from the boundaries: their interfaces and pure key/reason rules. */
const BOUNDARY_INTERFACES = '^src/(storage/(types|object-keys|media-store)|whatsapp/(types|disconnect-reasons))\\.ts$';
/**
 * The vocabulary the boundaries share: their interface modules. One boundary's interface may name
 * another's types (the WhatsApp connector is handed the storage's auth handle; WhatsApp's events
 * speak the catalogue's message statuses), with `import type` only.
 */
const SHARED_INTERFACES = '^src/(storage/(types|media-store)|whatsapp/types|events/catalogue|broker/(types|routing-keys))\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No module may depend on itself through others: break the cycle by moving the shared part down a layer.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'util-is-a-leaf',
      severity: 'error',
      comment: 'src/util imports nothing of ours but util.',
      from: { path: '^src/util/' },
      to: { path: '^src/', pathNot: '^src/util/' },
    },
    {
      name: 'config-imports-only-util',
      severity: 'error',
      comment: 'src/config imports only src/util.',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(config|util)/' },
    },
    {
      name: 'drivers-import-only-util-and-config',
      severity: 'error',
      comment:
        'A boundary (broker, storage, whatsapp) imports only itself, src/util and the types of src/config: never the core (sessions, messaging), commands, another boundary or the wiring.',
      from: { path: '^src/(broker|storage|whatsapp)/' },
      to: { path: '^src/', pathNot: ['^src/($1|util|config)/', SHARED_INTERFACES] },
    },
    {
      name: 'shared-interfaces-as-types-only',
      severity: 'error',
      comment:
        "A boundary names another boundary's interface types only (`import type`): no run-time coupling between drivers. (The routing keys are values on purpose: see events-import-broker-types-only.)",
      from: { path: '^src/(broker|storage|whatsapp|events)/' },
      to: { path: SHARED_INTERFACES, pathNot: ['^src/$1/', '^src/broker/routing-keys\\.ts$'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'events-import-only-util-config-and-broker-types',
      severity: 'error',
      comment: 'src/events imports only itself, src/util, and the types of src/config and src/broker.',
      from: { path: '^src/events/' },
      to: { path: '^src/', pathNot: ['^src/(events|util|config|broker)/'] },
    },
    {
      name: 'boundaries-import-config-types-only',
      severity: 'error',
      comment: 'A boundary takes its settings as values (the Config type at most), never by calling into src/config: `import type`.',
      from: { path: '^src/(broker|storage|events|whatsapp)/' },
      to: { path: '^src/config/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'events-import-broker-types-only',
      severity: 'error',
      comment:
        "src/events publishes through the broker's interfaces (`import type` from src/broker) and its routing keys (the contract the topology binds with); what else it needs at run time belongs in events or util.",
      from: { path: '^src/events/' },
      to: { path: '^src/broker/', pathNot: '^src/broker/routing-keys\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-without-infrastructure-packages',
      severity: 'error',
      comment:
        'The core (sessions, messaging) must not load amqplib, minio, Baileys or OpenTelemetry, directly or through any module it imports (types included): depend on our interfaces (whatsapp/types.ts, storage/types.ts, telemetry/types.ts) and let compose.ts hand in the drivers.',
      from: { path: CORE },
      to: { path: '^node_modules/(amqplib|minio|@whiskeysockets/baileys|@opentelemetry)/', reachable: true },
    },
    {
      name: 'core-without-drivers-or-wiring',
      severity: 'error',
      comment:
        'The core (sessions, messaging) imports from the boundaries only their interfaces (storage/types.ts, storage/object-keys.ts, storage/media-store.ts, whatsapp/types.ts, whatsapp/disconnect-reasons.ts), nothing of src/broker, and never worker.ts, compose.ts or main.ts.',
      from: { path: CORE },
      to: { path: '^src/(broker/|storage/|whatsapp/|worker\\.ts$|compose\\.ts$|main\\.ts$)', pathNot: BOUNDARY_INTERFACES },
    },
    {
      name: 'telemetry-interface-only',
      severity: 'error',
      comment:
        'The core and the commands see telemetry through telemetry/types.ts (and the no-op); the OpenTelemetry implementation is built by main.ts and handed in, so a worker without OTLP loads no SDK.',
      from: { path: '^src/(sessions|messaging|commands|events)/' },
      to: { path: '^src/telemetry/', pathNot: '^src/telemetry/(types|noop-telemetry)\\.ts$' },
    },
    {
      name: 'commands-without-opentelemetry',
      severity: 'error',
      comment: 'Parsing and routing a command load no OpenTelemetry package: spans go through telemetry/types.ts.',
      from: { path: '^src/commands/' },
      to: { path: '^node_modules/@opentelemetry/', reachable: true },
    },
    {
      name: 'telemetry-is-a-boundary',
      severity: 'error',
      comment:
        'src/telemetry imports only itself, src/util, the config types and the interfaces of the other boundaries (`import type`: it wraps a Publisher or a SessionStore, it never drives one).',
      from: { path: '^src/telemetry/' },
      to: { path: '^src/', pathNot: ['^src/(telemetry|util)/', '^src/config/config-types\\.ts$', '^src/(broker|storage)/types\\.ts$'] },
    },
    {
      name: 'telemetry-imports-types-only',
      severity: 'error',
      comment: 'src/telemetry names the config and the other boundaries by type only.',
      from: { path: '^src/telemetry/' },
      to: { path: '^src/(config|broker|storage)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'commands-not-messaging',
      severity: 'error',
      comment: 'Parsing a command needs nothing of messaging (messaging uses the commands, not the other way round).',
      from: { path: '^src/commands/' },
      to: { path: '^src/messaging/' },
    },
    {
      name: 'commands-not-sessions',
      severity: 'error',
      comment: 'Parsing and routing a command need nothing of the sessions (they are executed through a function handed in).',
      from: { path: '^src/commands/' },
      to: { path: '^src/sessions/' },
    },
    {
      name: 'src-not-test-or-scripts',
      severity: 'error',
      comment: 'Production code never imports the tests, the emulator or the scripts.',
      from: { path: '^src/' },
      to: { path: '^(test|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // `import type` is a dependency too (see above).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
