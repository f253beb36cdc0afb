export function LoginPage({ mode }: { mode: "login" | "signup" }) {
  return <div>{mode}</div>;
}
