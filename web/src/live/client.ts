// The app's one LiveClient, on a real browser WebSocket to this origin's /api/ws (the session
// cookie goes with it, so it is same-origin only).
import { createContext, useContext } from "react";
import { api } from "../api/client";
import { LiveClient, type LiveSocket, type SocketHandlers } from "./LiveClient";

/** ws:// or wss:// to /api/ws on the page's own host. */
export function socketUrl(location: Pick<Location, "protocol" | "host">): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/ws`;
}

function browserSocket(url: string, handlers: SocketHandlers): LiveSocket {
  const socket = new WebSocket(url);
  socket.onopen = () => handlers.onOpen();
  socket.onmessage = (message) => {
    if (typeof message.data === "string") handlers.onMessage(message.data);
  };
  socket.onclose = (closed) => handlers.onClose(closed.code, closed.reason);
  return socket;
}

let shared: LiveClient | null = null;

function sharedClient(): LiveClient {
  if (!shared) {
    shared = new LiveClient({ url: socketUrl(window.location), createSocket: browserSocket });
    shared.onStateChange((state) => {
      // The socket learnt the session is gone; an API call lets the app shell learn it too
      // (its 401 sends the person to the login page).
      if (state === "signed-out") void api.GET("/api/me").catch(() => undefined);
    });
  }
  return shared;
}

/** Tests provide their own client (on a fake socket); the app uses the shared one. */
export const LiveClientContext = createContext<LiveClient | null>(null);

export function useLiveClient(): LiveClient {
  return useContext(LiveClientContext) ?? sharedClient();
}
