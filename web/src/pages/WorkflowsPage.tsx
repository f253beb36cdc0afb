export function WorkflowsPage() {
  return <div>TODO</div>;
}
