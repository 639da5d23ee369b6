// A TCP proxy in front of the real Redis, to cut the connection and bring it back (a Redis
// outage without stopping the Redis other tests use). Shared by live-redis and rate-limits.
import { once } from "node:events";
import net from "node:net";

/**
 * A TCP proxy in front of the real Redis. `cut()` is an outage: every proxied connection is
 * destroyed and the port stops listening, so reconnection attempts are refused; `restore()`
 * listens on the same port again.
 *
 * `restore({ subscribeAfterPublish: true })` also forces one interleaving of the two Redis
 * connections an instance has: a connection's SUBSCRIBE is held back until some connection's
 * PUBLISH has gone through (or `HOLD_MS` passed). That is what happens by chance in roughly a
 * third of real reconnections (the publisher's client becomes ready first and flushes its
 * queue), made certain here so that a test about it is deterministic.
 */
export class RedisProxy {
  static readonly HOLD_MS = 1_500;
  port = 0;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** Chunks held back per connection while `holding`. */
  private held = new Map<net.Socket, Buffer[]>();
  private holding = false;

  constructor(private readonly target: { host: string; port: number }) {}

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start({ subscribeAfterPublish = false } = {}): Promise<void> {
    this.holding = subscribeAfterPublish;
    if (subscribeAfterPublish) setTimeout(() => this.release(), RedisProxy.HOLD_MS).unref();
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("error", () => {});
        socket.on("close", () => {
          this.sockets.delete(socket);
          this.held.delete(upstream);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on("data", (chunk: Buffer) => this.forward(upstream, chunk));
      upstream.pipe(client);
    });
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  private forward(upstream: net.Socket, chunk: Buffer): void {
    const text = chunk.toString("latin1");
    const queue = this.held.get(upstream);
    if (queue) return void queue.push(chunk);
    if (this.holding && /\$9\r\nsubscribe\r\n/i.test(text)) return void this.held.set(upstream, [chunk]);
    upstream.write(chunk);
    if (this.holding && /\$7\r\npublish\r\n/i.test(text)) this.release();
  }

  private release(): void {
    this.holding = false;
    for (const [upstream, chunks] of this.held) for (const chunk of chunks) upstream.write(chunk);
    this.held.clear();
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise((resolve) => server.close(resolve));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  restore(options?: { subscribeAfterPublish?: boolean }): Promise<void> {
    return this.start(options);
  }
}
