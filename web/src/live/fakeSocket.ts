// A WebSocket the tests drive (imported by *.test.ts only): it records what the client sends
// and plays the gateway's part.
import { LiveClient, type LiveSocket, type SocketHandlers } from "./LiveClient";

/** A WebSocket the test drives: it records what the client sends and plays the gateway. */
export class FakeSocket implements LiveSocket {
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;

  constructor(
    readonly url: string,
    private readonly handlers: SocketHandlers,
  ) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code = 1000): void {
    this.closedWith = code;
  }

  open(): void {
    this.handlers.onOpen();
  }

  receive(frame: unknown): void {
    this.handlers.onMessage(JSON.stringify(frame));
  }

  drop(code = 1006): void {
    this.handlers.onClose(code, "");
  }

  subscribes(): Record<string, unknown>[] {
    return this.sent.filter((frame) => frame.type === "subscribe");
  }
}

/** A client on fake sockets; `sockets` lists every socket it opened, newest last. */
export function fakeLiveClient(): { client: LiveClient; sockets: FakeSocket[]; latest: () => FakeSocket } {
  const sockets: FakeSocket[] = [];
  const client = new LiveClient({
    url: "ws://portico.test/api/ws",
    createSocket: (url, handlers) => {
      const socket = new FakeSocket(url, handlers);
      sockets.push(socket);
      return socket;
    },
  });
  const latest = () => {
    const socket = sockets.at(-1);
    if (!socket) throw new Error("no socket was opened");
    return socket;
  };
  return { client, sockets, latest };
}
