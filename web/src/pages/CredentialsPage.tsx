export function CredentialsPage() {
  return <div>TODO</div>;
}
