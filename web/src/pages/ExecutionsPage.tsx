export function ExecutionsPage() {
  return <div>TODO</div>;
}
