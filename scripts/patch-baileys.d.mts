/** Types of scripts/patch-baileys.mjs (plain ESM, run by npm before anything is built). */
export declare const MARKER: string;
export declare const PATCHES: ReadonlyArray<{ file: string; before: string; after: string }>;
export declare function baileysDir(): string;
export declare function applyPatches(dir: string): string[];
