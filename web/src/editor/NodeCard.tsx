// One node on the canvas: glyph and colour of its category, its label and type, its run status,
// the last save's problems, and its handles (target left; outputs right, one row each).
import { memo, useEffect, useRef } from "react";
import { Handle, type NodeProps, Position, useUpdateNodeInternals } from "@xyflow/react";
import { StatusBadge } from "../components/StatusBadge";
import { typeGlyph } from "./categories";
import type { PorticoFlowNode } from "./flowModel";
import type { SourceHandleSpec } from "./graphModel";

function NodeCardView({ id, data, selected }: NodeProps<PorticoFlowNode>) {
  const { node, nodeType, handles, hasTarget, run, problems, readOnly } = data;
  const category = nodeType?.category ?? "unknown";
  const status = run?.status ?? "idle";
  const handleKey = handles.map((handle) => handle.id).join("|");
  useRemeasureOnChange(id, handleKey);

  const normal = handles.find((handle) => handle.kind === "default");
  const rows = handles.filter((handle) => handle.kind !== "default");
  return (
    <div
      className={`pn-card pn-cat-${category} pn-status-${status}${selected ? " pn-selected" : ""}`}
      data-testid={`node-${id}`}
      data-status={status}
    >
      {hasTarget && (
        <Handle
          type="target"
          position={Position.Left}
          className="pn-handle pn-handle-target"
          data-testid={`handle-${id}-target`}
          isConnectable={!readOnly}
        />
      )}
      <div className="pn-head">
        <span className="pn-glyph" aria-hidden="true">
          {typeGlyph(node.type, nodeType?.category)}
        </span>
        <div className="pn-titles">
          <div className="pn-label" title={node.name || node.id}>
            {node.name || node.id}
          </div>
          <div className="pn-type">{nodeType?.label ?? node.type}</div>
        </div>
        {problems.length > 0 && (
          <span
            className="pn-problem"
            data-testid={`node-problem-${id}`}
            title={problems.join("\n")}
            aria-label={`${problems.length} problem${problems.length === 1 ? "" : "s"}: ${problems.join("; ")}`}
          >
            !<span className="pn-tooltip">{problems.join("\n")}</span>
          </span>
        )}
        {normal && <SourceHandle nodeId={id} handle={normal} readOnly={readOnly} />}
      </div>
      {run && (
        <div className="pn-run">
          <StatusBadge status={run.status} attempt={run.attempt} />
        </div>
      )}
      {run?.status === "failed" && run.error && (
        <div className="pn-error" data-testid={`node-error-${id}`} title={run.error.message}>
          {run.error.message}
        </div>
      )}
      {rows.length > 0 && (
        <div className="pn-outputs">
          {rows.map((handle) => (
            <div key={handle.id} className={`pn-output pn-output-${handle.kind}`}>
              <span className="pn-output-label">{handle.label}</span>
              <SourceHandle nodeId={id} handle={handle} readOnly={readOnly} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

/**
 * React Flow measures a node's handles when it first draws it; a condition gaining or losing a
 * branch must be measured again. Not on mount: React Flow measures every node together then,
 * and a lone early measurement would make the initial fit-view frame only that node.
 */
function useRemeasureOnChange(id: string, handleKey: string) {
  const updateNodeInternals = useUpdateNodeInternals();
  const measuredWith = useRef(handleKey);
  useEffect(() => {
    if (measuredWith.current === handleKey) return;
    measuredWith.current = handleKey;
    updateNodeInternals(id);
  }, [id, handleKey, updateNodeInternals]);
}

function SourceHandle({
  nodeId,
  handle,
  readOnly,
}: {
  nodeId: string;
  handle: SourceHandleSpec;
  readOnly: boolean;
}) {
  return (
    <Handle
      type="source"
      id={handle.id}
      position={Position.Right}
      className={`pn-handle pn-handle-${handle.kind}`}
      data-testid={`handle-${nodeId}-source-${handle.id}`}
      isConnectable={!readOnly && handle.kind !== "missing"}
      title={handle.label ?? "output"}
    />
  );
}

export const NodeCard = memo(NodeCardView);

/** The node types React Flow renders; defined once so the object keeps its identity. */
export const NODE_TYPES = { portico: NodeCard };
