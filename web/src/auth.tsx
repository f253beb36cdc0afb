// Who is signed in. The session is an HttpOnly cookie, so the editor learns it from /api/me.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { ApiError, api, call, onUnauthenticated } from "./api/client";
import type { UserView } from "./api/types";

interface Auth {
  /** undefined while /api/me is in flight, null when signed out. */
  user: UserView | null | undefined;
  login(email: string, password: string): Promise<void>;
  signup(email: string, password: string): Promise<void>;
  logout(): Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<UserView | null | undefined>(undefined);

  const refresh = useCallback(async () => {
    try {
      setUser(await call(api.GET("/api/me")));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) setUser(null);
      else throw error;
    }
  }, []);

  useEffect(() => {
    refresh().catch(() => setUser(null));
    return onUnauthenticated(() => setUser(null));
  }, [refresh]);

  const value = useMemo<Auth>(
    () => ({
      user,
      async login(email, password) {
        await call(api.POST("/api/auth/login", { body: { email, password } }));
        await refresh();
      },
      async signup(email, password) {
        await call(api.POST("/api/auth/signup", { body: { email, password } }));
        await call(api.POST("/api/auth/login", { body: { email, password } }));
        await refresh();
      },
      async logout() {
        await call(api.POST("/api/auth/logout"));
        setUser(null);
      },
    }),
    [user, refresh],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}
