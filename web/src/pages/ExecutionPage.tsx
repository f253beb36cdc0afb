export function ExecutionPage() {
  return <div>TODO</div>;
}
