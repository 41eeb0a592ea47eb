/** Where the nodes listen and what they are called: see the port map in ../rabbit-cluster.ts. */
export const HOST = 'localhost';
export const DIST_PORT_OFFSET = 20000;
/** rabbitmqctl starts an Erlang node of its own that listens on a port of this range; its default range (35672–35682) is shared with every other rabbitmqctl on the machine. */
export const CLI_DIST_PORT_OFFSET = 20050;
export const CLI_DIST_PORT_COUNT = 20;
export const MAX_SIZE = 20;
/** The file in a base directory that says rabbit-cluster.ts made it (and for which prefix, size, port). */
export const MARKER = '.rabbit-cluster.json';
/** The nodes' environment names their base dir, so a leftover found by `stop` can have its directory removed too. */
export const BASE_DIR_VAR = 'CHAOS_RABBIT_BASE_DIR';
/**
 * ...and their namePrefix: names alone are ambiguous (prefix 'chaos' node 11 and prefix 'chaos1'
 * node 1 are both chaos11), so leftovers are matched by this tag, not by a name pattern.
 */
export const PREFIX_VAR = 'CHAOS_RABBIT_PREFIX';
export const DEFAULT_BASE_PORT = 5701;
export const DEFAULT_PREFIX = 'chaos';

/** `${prefix}1` … `${prefix}${size}`: node names without the host part. */
export function shortNames(prefix: string, size: number): string[] {
  return Array.from({ length: size }, (_, k) => `${prefix}${k + 1}`);
}
