// Log in and sign up: one form, two modes. After success the person goes back where the
// sign-in wall stopped them (`?next=`), but only ever to a page of this site.
import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router-dom";
import { ApiError, errorMessage } from "../api/client";
import { useAuth } from "../auth";
import "./LoginPage.css";

type Mode = "login" | "signup";
const ORIGIN = "http://portico.invalid";
const AUTH_PAGES = new Set(["/login", "/signup"]);

/**
 * Where to go after signing in: `next` when it is a path of this site ("/workflows/1"), else
 * "/". A protocol-relative "//evil.test", a backslash trick or a full URL would send the
 * person (and their fresh session's trust) elsewhere.
 */
export function safeNextPath(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//")) return "/";
  // Browsers read "\" as "/" and drop tabs and newlines; refuse all of them outright.
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return "/";
  let url: URL;
  try {
    url = new URL(next, ORIGIN);
  } catch {
    return "/";
  }
  if (url.origin !== ORIGIN || AUTH_PAGES.has(url.pathname)) return "/";
  return url.pathname + url.search + url.hash;
}

export interface AuthProblem {
  message: string | null;
  email: string | null;
  password: string | null;
  /** Seconds until another try is allowed (429), if the server said. */
  retryAfterS: number | null;
}

/** "Value error, not a valid email address" reads "Not a valid email address". */
function sentence(text: string): string {
  const plain = text.replace(/^Value error, /, "");
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}

/** What to show for a failed login or signup: field problems beside their field. */
export function describeAuthProblem(error: unknown, mode: Mode): AuthProblem {
  const problem: AuthProblem = { message: null, email: null, password: null, retryAfterS: null };
  if (!(error instanceof ApiError)) return { ...problem, message: errorMessage(error) };
  if (error.status === 401) {
    return { ...problem, message: "Wrong email or password." };
  }
  if (error.status === 429) {
    const wait = error.retryAfterS;
    const when = wait ? `in ${wait} s` : "in a moment";
    const what = mode === "login" ? "sign-in attempts" : "sign-ups";
    return { ...problem, message: `Too many ${what}; try again ${when}.`, retryAfterS: wait };
  }
  if (error.status === 409 && mode === "signup") {
    return { ...problem, email: `${sentence(error.message)}. Log in instead?` };
  }
  if (error.status === 422 && Array.isArray(error.details)) {
    for (const detail of error.details as { field?: unknown; message?: unknown }[]) {
      const field = String(detail.field ?? "").replace(/^body\./, "");
      const message = sentence(String(detail.message ?? ""));
      if (field === "email") problem.email = message;
      else if (field === "password") problem.password = message;
      else problem.message = message;
    }
    if (problem.email || problem.password || problem.message) return problem;
  }
  return { ...problem, message: sentence(error.message) };
}

/** The problem of a form sent with a field left empty, or null when both are filled. */
export function missingFields(email: string, password: string): AuthProblem | null {
  if (email.trim() !== "" && password !== "") return null;
  return {
    message: null,
    email: email.trim() === "" ? "Enter your email." : null,
    password: password === "" ? "Enter your password." : null,
    retryAfterS: null,
  };
}

/** Seconds left until `until` (epoch ms), re-rendered each second while waiting. */
function useSecondsLeft(until: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === null) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [until]);
  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
}

export function LoginPage({ mode }: { mode: Mode }) {
  const { user, login, signup } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = safeNextPath(params.get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<AuthProblem | null>(null);
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const secondsLeft = useSecondsLeft(retryAt);

  // A problem from the other mode means nothing here.
  useEffect(() => setProblem(null), [mode]);

  if (user) return <Navigate to={next} replace />;

  const signingUp = mode === "signup";
  const otherMode = signingUp ? "/login" : "/signup";
  const keepNext = params.get("next") ? `?next=${encodeURIComponent(next)}` : "";

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const missing = missingFields(email, password);
    if (missing) {
      setProblem(missing);
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await (signingUp ? signup(email, password) : login(email, password));
      setPassword("");
      navigate(next, { replace: true });
    } catch (error) {
      const described = describeAuthProblem(error, mode);
      setProblem(described);
      setRetryAt(described.retryAfterS ? Date.now() + described.retryAfterS * 1000 : null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-page">
      <form className="card auth-card" onSubmit={submit} noValidate aria-busy={busy}>
        <div className="auth-brand">Portico</div>
        <h1>{signingUp ? "Create your account" : "Log in"}</h1>
        {problem?.message && (
          <div className="form-error" role="alert">
            {problem.message}
            {secondsLeft > 0 && <span className="muted"> ({secondsLeft} s)</span>}
          </div>
        )}
        <div className="field">
          <label htmlFor="auth-email">Email</label>
          <input
            id="auth-email"
            name="email"
            type="email"
            autoComplete={signingUp ? "email" : "username"}
            autoFocus
            required
            value={email}
            aria-invalid={problem?.email ? true : undefined}
            aria-describedby={problem?.email ? "auth-email-error" : undefined}
            onChange={(event) => setEmail(event.target.value)}
          />
          {problem?.email && (
            <div className="field-error" id="auth-email-error">
              {problem.email}
              {signingUp && problem.email.endsWith("Log in instead?") && (
                <>
                  {" "}
                  <Link to={`/login${keepNext}`}>Log in</Link>
                </>
              )}
            </div>
          )}
        </div>
        <div className="field">
          <label htmlFor="auth-password">Password</label>
          <input
            id="auth-password"
            name="password"
            type="password"
            autoComplete={signingUp ? "new-password" : "current-password"}
            required
            minLength={signingUp ? 8 : undefined}
            value={password}
            aria-invalid={problem?.password ? true : undefined}
            aria-describedby={signingUp ? "auth-password-hint" : undefined}
            onChange={(event) => setPassword(event.target.value)}
          />
          {signingUp && (
            <div className="hint" id="auth-password-hint">
              At least 8 characters.
            </div>
          )}
          {problem?.password && <div className="field-error">{problem.password}</div>}
        </div>
        <button
          type="submit"
          className="primary auth-submit"
          disabled={busy || secondsLeft > 0}
        >
          {signingUp ? "Sign up" : "Log in"}
        </button>
        <p className="auth-switch muted">
          {signingUp ? "Already have an account? " : "New to Portico? "}
          <Link to={`${otherMode}${keepNext}`}>{signingUp ? "Log in" : "Create an account"}</Link>
        </p>
      </form>
    </div>
  );
}
