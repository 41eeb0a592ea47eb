import { TcpProxy } from '../helpers/tcp-proxy.js';

/** The proxy the outage tests put between a worker and the broker keeps everything of RABBITMQ_URL but its address. */
describe('TcpProxy (test helper)', () => {
  it("forwards to the broker URL's host and port, and gives a URL with the same user, password, vhost and query", () => {
    const proxy = new TcpProxy('amqp://wa-worker:s%40cret@rabbit.internal:5673/private%2Fvhost?frameMax=131072');
    expect(proxy.target).toEqual({ host: 'rabbit.internal', port: 5673 });
    proxy.port = 41234;
    expect(proxy.url()).toBe('amqp://wa-worker:s%40cret@127.0.0.1:41234/private%2Fvhost?frameMax=131072');
    expect(proxy.url('other', 'p@ss')).toBe('amqp://other:p%40ss@127.0.0.1:41234/private%2Fvhost?frameMax=131072');
  });

  it('defaults: port 5672 (5671 for amqps), no vhost (the broker\'s "/")', () => {
    expect(new TcpProxy('amqp://guest:guest@127.0.0.1').target).toEqual({ host: '127.0.0.1', port: 5672 });
    expect(new TcpProxy('amqps://guest:guest@[::1]').target).toEqual({ host: '::1', port: 5671 });
    const proxy = new TcpProxy('amqp://guest:guest@127.0.0.1:5672');
    proxy.port = 5000;
    expect(proxy.url()).toBe('amqp://guest:guest@127.0.0.1:5000');
  });
});
