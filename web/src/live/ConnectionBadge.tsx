// How the live connection stands, shown wherever live data is (quiet while all is well).
import { Link, useLocation } from "react-router-dom";
import { useLiveClient } from "./client";
import { useConnectionState } from "./hooks";
import "./live.css";

export function ConnectionBadge({ showLive = false }: { showLive?: boolean }) {
  const client = useLiveClient();
  const state = useConnectionState();
  const location = useLocation();
  if (state === "idle" || (state === "live" && !showLive)) return null;
  return (
    <span className={`live-connection live-${state}`} data-testid="live-connection" data-state={state}>
      <span className="live-dot" aria-hidden="true" />
      {state === "live" && "Live"}
      {state === "connecting" && "Connecting…"}
      {state === "reconnecting" && (
        <>
          Reconnecting…
          <button type="button" className="link" onClick={() => client.reconnect()}>
            Try now
          </button>
        </>
      )}
      {state === "signed-out" && (
        <>
          Signed out —
          <Link to={`/login?next=${encodeURIComponent(location.pathname)}`}>sign in again</Link>
        </>
      )}
    </span>
  );
}
