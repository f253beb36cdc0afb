import { Navigate, NavLink, Outlet, Route, Routes, useLocation } from "react-router-dom";
import { AuthProvider, useAuth } from "./auth";
import { CredentialsPage } from "./pages/CredentialsPage";
import { EditorPage } from "./pages/EditorPage";
import { ExecutionPage } from "./pages/ExecutionPage";
import { ExecutionsPage } from "./pages/ExecutionsPage";
import { LoginPage } from "./pages/LoginPage";
import { WorkflowsPage } from "./pages/WorkflowsPage";

export function App() {
  return (
    <AuthProvider>
      <Routes>
        <Route path="/login" element={<LoginPage mode="login" />} />
        <Route path="/signup" element={<LoginPage mode="signup" />} />
        <Route element={<SignedIn />}>
          <Route path="/" element={<WorkflowsPage />} />
          <Route path="/workflows/:workflowId" element={<EditorPage />} />
          <Route path="/workflows/:workflowId/executions" element={<ExecutionsPage />} />
          <Route path="/executions/:executionId" element={<ExecutionPage />} />
          <Route path="/credentials" element={<CredentialsPage />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </AuthProvider>
  );
}

/** The signed-in shell: a top bar, then the page. Signed out, the way to the login page. */
function SignedIn() {
  const { user, logout } = useAuth();
  const location = useLocation();
  if (user === undefined) return <div className="page-loading" aria-busy="true">Loading…</div>;
  if (user === null) {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/" className="brand">
          Portico
        </NavLink>
        <nav>
          <NavLink to="/" end>
            Workflows
          </NavLink>
          <NavLink to="/credentials">Credentials</NavLink>
        </nav>
        <span className="spacer" />
        <span className="muted" data-testid="current-user">
          {user.email}
        </span>
        <button type="button" className="link" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <div className="empty-state">
      <h2>Nothing here</h2>
      <p>
        This address is not a page of Portico. <NavLink to="/">Back to your workflows</NavLink>
      </p>
    </div>
  );
}
