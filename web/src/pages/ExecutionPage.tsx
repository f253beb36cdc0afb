// One execution: its facts, the graph of the version that ran coloured by outcome (live while
// it runs), the selected node's input, output and error, and a timeline of its node runs.
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useNodeTypes } from "../api/useNodeTypes";
import { GraphView } from "../editor/GraphView";
import { currentRun, failedNodeId } from "../executions/currentRun";
import { ExecutionHeader } from "../executions/ExecutionHeader";
import { NodeDetail } from "../executions/NodeDetail";
import { Timeline } from "../executions/Timeline";
import { layoutTimeline } from "../executions/timelineLayout";
import { useExecutionDetail } from "../executions/useExecutionDetail";
import { useVersionGraph } from "../executions/useVersionGraph";
import { useNow } from "../hooks/useNow";
import { useExecution } from "../live/hooks";
import { isRunFinished } from "../live/runState";
import type { RunState } from "../live/types";
import "../executions/executions.css";

export function ExecutionPage() {
  const { executionId = "" } = useParams();
  // A new id is a new page: no selection or state carried over from the last execution.
  return <ExecutionView key={executionId} executionId={executionId} />;
}

function ExecutionView({ executionId }: { executionId: string }) {
  const live = useExecution(executionId);
  const fetched = useExecutionDetail(executionId, live.run, live.connection);
  const run = useMemo(() => currentRun(live.run, fetched.detail), [live.run, fetched.detail]);
  const detail = fetched.detail;
  const version = useVersionGraph(detail?.workflow_id, detail?.workflow_version);
  const catalogue = useNodeTypes();
  const now = useNow(1000, run !== null && !isRunFinished(run));
  const [selected, setSelected] = useSelection(run);

  if (!detail || !run) {
    if (fetched.error) return <LoadFailed status={fetched.error.status} message={fetched.error.message} />;
    return (
      <div className="page-loading" aria-busy="true">
        Loading the execution…
      </div>
    );
  }

  const graphNodes = version.graph?.nodes ?? [];
  const order = graphNodes.map((node) => node.id);
  const timeline = layoutTimeline({
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    now,
    nodes: orderedNodes(run, order),
  });

  return (
    <div className="page execution-page">
      <ExecutionHeader
        detail={detail}
        run={run}
        workflowName={version.name}
        now={now}
        onChanged={fetched.reload}
      />
      {run.error && (
        <div className="form-error execution-error" data-testid="execution-error">
          <strong>{run.error.type}</strong>: {run.error.message}
        </div>
      )}
      <div className="execution-main">
        <div className="execution-graph card">
          {version.graph && catalogue.types ? (
            <GraphView
              graph={version.graph}
              catalogue={catalogue.types}
              runNodes={run.nodes}
              selectedNodeId={selected}
              onSelectNode={setSelected}
              height="100%"
            />
          ) : (
            <p className={version.error || catalogue.error ? "form-error" : "muted"}>
              {version.error ?? catalogue.error ?? "Loading the graph…"}
            </p>
          )}
        </div>
        {selected ? (
          <NodeDetail
            nodeId={selected}
            node={graphNodes.find((node) => node.id === selected)}
            state={run.nodes[selected]}
            now={now}
            onClose={() => setSelected(null)}
          />
        ) : (
          <aside className="node-detail-empty card">
            <p className="muted">Select a node on the graph or the timeline to see its input, output and error.</p>
          </aside>
        )}
      </div>
      <Timeline layout={timeline} selectedNodeId={selected} onSelectNode={setSelected} />
    </div>
  );
}

/** The selected node; the failed one is selected by itself the first time there is one. */
function useSelection(run: RunState | null): [string | null, (id: string | null) => void] {
  const [selected, setSelected] = useState<string | null>(null);
  const chosen = useRef(false);
  const failed = run ? failedNodeId(run) : null;
  useEffect(() => {
    if (chosen.current || !failed) return;
    chosen.current = true;
    setSelected(failed);
  }, [failed]);
  const select = (id: string | null) => {
    chosen.current = true;
    setSelected(id);
  };
  return [selected, select];
}

/** Node runs in graph order (nodes the graph no longer names, after). */
function orderedNodes(run: RunState, order: string[]) {
  const ids = [...order.filter((id) => run.nodes[id]), ...Object.keys(run.nodes).filter((id) => !order.includes(id))];
  return ids.map((nodeId) => ({ nodeId, ...run.nodes[nodeId]! }));
}

function LoadFailed({ status, message }: { status: number; message: string }) {
  return (
    <div className="empty-state" data-testid="execution-missing">
      <h2>{status === 404 ? "No such execution" : "The execution could not be loaded"}</h2>
      <p>{message}</p>
      <p>
        <Link to="/">Back to your workflows</Link>
      </p>
    </div>
  );
}
