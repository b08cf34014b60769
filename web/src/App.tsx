import { useCallback, useEffect, useState } from "react";
import { BrowserRouter, Route, Routes } from "react-router";
import { clearToken, getToken, onUnauthorized } from "./api/client";
import { Layout } from "./components/Layout";
import { ToastProvider } from "./components/Toast";
import { Dashboard } from "./pages/Dashboard";
import { ExecutionDetail } from "./pages/ExecutionDetail";
import { Executions } from "./pages/Executions";
import { ExecutorDetail } from "./pages/ExecutorDetail";
import { Executors } from "./pages/Executors";
import { NotFound } from "./pages/NotFound";
import { SignIn } from "./pages/SignIn";
import { TaskDetail } from "./pages/TaskDetail";
import { TaskFormPage } from "./pages/TaskForm";
import { Tasks } from "./pages/Tasks";

/**
 * The dashboard. Any 401 from the API (no token, or one the server no
 * longer accepts) drops the token and shows the sign-in screen; signing in
 * comes back to the same page.
 */
export function App() {
  const [auth, setAuth] = useState<"ok" | "required" | "expired">("ok");

  useEffect(
    () =>
      onUnauthorized(() => {
        // Several requests may be refused at once: the first one decides.
        const had = getToken() !== null;
        clearToken();
        setAuth((prev) => (prev !== "ok" ? prev : had ? "expired" : "required"));
      }),
    [],
  );

  const signOut = useCallback(() => {
    clearToken();
    setAuth("required");
  }, []);

  if (auth !== "ok") return <SignIn expired={auth === "expired"} onSignedIn={() => setAuth("ok")} />;

  return (
    <BrowserRouter>
      <ToastProvider>
        <Routes>
          <Route element={<Layout onSignOut={getToken() ? signOut : undefined} />}>
            <Route index element={<Dashboard />} />
            <Route path="tasks" element={<Tasks />} />
            <Route path="tasks/new" element={<TaskFormPage />} />
            <Route path="tasks/:id" element={<TaskDetail />} />
            <Route path="tasks/:id/edit" element={<TaskFormPage />} />
            <Route path="executors" element={<Executors />} />
            <Route path="executors/:id" element={<ExecutorDetail />} />
            <Route path="executions" element={<Executions />} />
            <Route path="executions/:id" element={<ExecutionDetail />} />
            <Route path="*" element={<NotFound />} />
          </Route>
        </Routes>
      </ToastProvider>
    </BrowserRouter>
  );
}
