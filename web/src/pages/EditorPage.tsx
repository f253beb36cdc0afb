export function EditorPage() {
  return <div>TODO</div>;
}
