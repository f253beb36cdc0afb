// The right-hand panel: the selected node's id, name, credential, config form and settings; or
// what to do with several nodes or an edge; or, with nothing selected, the workflow's problems.
import { useMemo } from "react";
import type { GraphNode, JsonSchema, WorkflowGraph } from "../api/types";
import { SchemaForm } from "../forms/SchemaForm";
import type { Selection } from "./Canvas";
import { typeGlyph } from "./categories";
import { CredentialPicker } from "./CredentialPicker";
import { type Catalogue, edgeId, findNode } from "./graphModel";
import { NodeIdField } from "./NodeIdField";
import { NodeSettings } from "./NodeSettings";
import type { NodeProblems, ProblemMap } from "./problems";
import { TemplateHints } from "./TemplateHints";
import type { CredentialsState } from "./useCredentials";
import { templateVariables } from "./variables";

export interface NodeEdits {
  rename: (from: string, to: string) => void;
  /** Change fields of a node; edits with the same `field` in a row are one undo step. */
  update: (id: string, field: string, change: Partial<GraphNode>) => void;
  setConfig: (id: string, config: Record<string, unknown>) => void;
  deleteSelection: () => void;
}

interface NodePanelProps {
  graph: WorkflowGraph;
  catalogue: Catalogue;
  selection: Selection;
  problems: ProblemMap;
  credentials: CredentialsState;
  edits: NodeEdits;
}

const NO_NODE_PROBLEMS: NodeProblems = { messages: [], config: {}, settings: {}, general: [] };

export function NodePanel({ graph, catalogue, selection, problems, credentials, edits }: NodePanelProps) {
  const single = selection.nodes.length === 1 ? findNode(graph, selection.nodes[0] ?? "") : undefined;
  return (
    <aside className="node-panel" data-testid="node-panel" aria-label="Selected node">
      {single ? (
        <NodeEditor
          key={single.id}
          graph={graph}
          catalogue={catalogue}
          node={single}
          problems={problems.byNode[single.id] ?? NO_NODE_PROBLEMS}
          credentials={credentials}
          edits={edits}
        />
      ) : selection.nodes.length > 1 ? (
        <MultiSelection count={selection.nodes.length} onDelete={edits.deleteSelection} />
      ) : selection.edges.length > 0 ? (
        <EdgeSelection graph={graph} edgeIds={selection.edges} onDelete={edits.deleteSelection} />
      ) : (
        <NothingSelected problems={problems} />
      )}
    </aside>
  );
}

function NodeEditor({
  graph,
  catalogue,
  node,
  problems,
  credentials,
  edits,
}: {
  graph: WorkflowGraph;
  catalogue: Catalogue;
  node: GraphNode;
  problems: NodeProblems;
  credentials: CredentialsState;
  edits: NodeEdits;
}) {
  const nodeType = catalogue.get(node.type);
  const variables = useMemo(() => templateVariables(graph, catalogue, node.id), [graph, catalogue, node.id]);
  const hint = useMemo(() => <TemplateHints variables={variables} />, [variables]);
  return (
    <div data-testid={`node-panel-${node.id}`}>
      <h2>
        <span className={`pn-glyph pn-cat-${nodeType?.category ?? "unknown"}`} aria-hidden="true">
          {typeGlyph(node.type, nodeType?.category)}
        </span>
        {nodeType?.label ?? node.type}
      </h2>
      {nodeType ? (
        <p className="type-desc">{nodeType.description}</p>
      ) : (
        <p className="form-error">Portico has no node type “{node.type}”. Delete this node or change the workflow’s JSON.</p>
      )}
      {problems.general.length > 0 && (
        <ul className="form-error node-messages" data-testid="node-problems">
          {problems.general.map((message) => (
            <li key={message}>{message}</li>
          ))}
        </ul>
      )}
      <section>
        <NodeIdField graph={graph} nodeId={node.id} onRename={(to) => edits.rename(node.id, to)} serverError={problems.settings.id} />
        <div className="field">
          <label htmlFor="node-name">Name</label>
          <input
            id="node-name"
            data-testid="node-name-input"
            value={node.name ?? ""}
            placeholder={node.id}
            maxLength={200}
            onChange={(event) => edits.update(node.id, "name", { name: event.target.value || null })}
          />
          {problems.settings.name && <div className="field-error">{problems.settings.name}</div>}
        </div>
        {nodeType && nodeType.credential_types.length > 0 && (
          <CredentialPicker
            nodeType={nodeType}
            value={node.credential_id}
            credentials={credentials}
            error={problems.settings.credential_id}
            onChange={(credentialId) => edits.update(node.id, "credential_id", { credential_id: credentialId })}
          />
        )}
      </section>
      {nodeType && (
        <section data-testid="node-config">
          <SchemaForm
            schema={nodeType.config_schema as JsonSchema}
            value={node.config ?? {}}
            onChange={(config) => edits.setConfig(node.id, config)}
            errors={problems.config}
            templateHint={hint}
            idPrefix="cfg-"
          />
        </section>
      )}
      <NodeSettings
        node={node}
        errors={problems.settings}
        onChange={(field, change) => edits.update(node.id, field, change)}
      />
      <div className="panel-actions">
        <button type="button" className="danger" data-testid="delete-node" onClick={edits.deleteSelection}>
          Delete node
        </button>
      </div>
    </div>
  );
}

function MultiSelection({ count, onDelete }: { count: number; onDelete: () => void }) {
  return (
    <div>
      <h2>{count} nodes selected</h2>
      <p className="muted">Drag them together, copy them (Ctrl/⌘+C) or delete them.</p>
      <div className="panel-actions">
        <button type="button" className="danger" data-testid="delete-node" onClick={onDelete}>
          Delete {count} nodes
        </button>
      </div>
    </div>
  );
}

function EdgeSelection({ graph, edgeIds, onDelete }: { graph: WorkflowGraph; edgeIds: readonly string[]; onDelete: () => void }) {
  const edges = graph.edges.filter((edge) => edgeIds.includes(edgeId(edge)));
  return (
    <div>
      <h2>{edges.length === 1 ? "Connection" : `${edges.length} connections`}</h2>
      <ul>
        {edges.map((edge) => (
          <li key={edgeId(edge)} className="mono">
            {edge.source}
            {edge.source_handle ? ` [${edge.source_handle}]` : ""} → {edge.target}
          </li>
        ))}
      </ul>
      <div className="panel-actions">
        <button type="button" className="danger" data-testid="delete-edge" onClick={onDelete}>
          Delete {edges.length === 1 ? "connection" : "connections"}
        </button>
      </div>
    </div>
  );
}

function NothingSelected({ problems }: { problems: ProblemMap }) {
  return (
    <div>
      <h2>Nothing selected</h2>
      <p className="muted">
        Click a node to set it up. Drag from a node’s right handle to another node’s left handle to connect them; the
        red “error” handle takes over when the node fails.
      </p>
      {problems.workflow.length > 0 && (
        <div className="form-error" data-testid="workflow-problems">
          <strong>The last save was refused:</strong>
          <ul>
            {problems.workflow.map((message) => (
              <li key={message}>{message}</li>
            ))}
          </ul>
        </div>
      )}
      <p className="muted small">
        Shortcuts: Delete/Backspace removes the selection, Ctrl/⌘+Z undoes, Ctrl/⌘+Shift+Z or Ctrl+Y redoes,
        Ctrl/⌘+C and Ctrl/⌘+V copy and paste nodes.
      </p>
    </div>
  );
}
