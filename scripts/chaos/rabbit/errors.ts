/** A failed step, naming the node and the command, with the tail of what it printed. */
export class RabbitClusterError extends Error {
  constructor(
    readonly node: string,
    readonly command: string,
    detail: string,
    readonly outputTail = '',
  ) {
    super(`rabbit-cluster: ${node}: \`${command}\` ${detail}${outputTail ? `\n----- output tail -----\n${outputTail}` : ''}`);
    this.name = 'RabbitClusterError';
  }
}
