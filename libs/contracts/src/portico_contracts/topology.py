"""Names of exchanges, queues and routing keys, and how each queue is declared.

Every work queue dead-letters into `portico.dlx`, so a message nobody can process is kept
with its reason (header `x-portico-error`) instead of looping or vanishing: either the
consumer refused it, or it came back `DELIVERY_LIMIT` times without being settled (it crashed
its consumer each time; see `portico_contracts.dead_letter`). The orchestrator reads a copy of
every dead letter to fail the execution it belonged to; `portico.dead` keeps another for a
person to look at.
"""

from __future__ import annotations

from collections.abc import Mapping

from faststream.rabbit import ExchangeType, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import ClassicQueueArgs

COMMANDS_EXCHANGE = RabbitExchange("portico.commands", type=ExchangeType.DIRECT, durable=True)
NODES_EXCHANGE = RabbitExchange("portico.nodes", type=ExchangeType.TOPIC, durable=True)
RESULTS_EXCHANGE = RabbitExchange("portico.results", type=ExchangeType.DIRECT, durable=True)
STATUS_EXCHANGE = RabbitExchange("portico.status", type=ExchangeType.TOPIC, durable=True)
EVENTS_EXCHANGE = RabbitExchange("portico.events", type=ExchangeType.TOPIC, durable=True)
DEAD_LETTER_EXCHANGE = RabbitExchange("portico.dlx", type=ExchangeType.FANOUT, durable=True)

EXECUTION_START = "execution.start"
EXECUTION_CANCEL = "execution.cancel"
EXECUTION_RETRY = "execution.retry"
WORKFLOW_ACTIVATED = "workflow.activated"
WORKFLOW_DEACTIVATED = "workflow.deactivated"
NODE_RESULT = "node.result"

ORCHESTRATOR_RPC_QUEUE_NAME = "orchestrator.rpc"
CREDENTIALS_RPC_QUEUE_NAME = "credentials.rpc"
# The executors' own RPC: a node config written by a model from plain English (gateway → ai).
AI_RPC_QUEUE_NAME = "executors.ai.rpc"
DEAD_LETTER_QUEUE_NAME = "portico.dead"
ORCHESTRATOR_DEAD_LETTERS_QUEUE_NAME = "orchestrator.dead-letters"

# Header set on a dead-lettered message: why it was refused.
DEAD_LETTER_REASON_HEADER = "x-portico-error"
# Header set on a node.ready the orchestrator's outbox relay sent: the replica that wrote it
# may have published it already, so an executor treats it like a redelivery.
RELAYED_HEADER = "x-portico-relayed"

# Deliveries of one message before we give up on it. A transient failure (database down) is
# retried inside the consumer without giving the message back, so only crashes and shutdowns
# count: a message that kills its consumer ten times in a row is poison.
DELIVERY_LIMIT = 10
# How often a message came back unsettled, on the copy a consumer re-queues in its place.
DELIVERIES_HEADER = "x-portico-deliveries"

_WORK_QUEUE_ARGS: ClassicQueueArgs = {"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name}


def durable_queue(name: str, routing_key: str | None = None) -> RabbitQueue:
    # Classic, not quorum: a quorum queue's delivery limit would do the counting for us, but
    # its Raft log cost about 1 ms more per confirmed publish, twice per node, measured here.
    return RabbitQueue(
        name, durable=True, routing_key=routing_key or name, arguments=_WORK_QUEUE_ARGS
    )


def may_be_a_repeat(redelivered: bool, headers: Mapping[str, object]) -> bool:
    """Could this delivery's work have been done already (by a consumer that died, or by
    the replica whose outbox row the relay also sent)?"""
    return redelivered or bool(headers.get(RELAYED_HEADER)) or DELIVERIES_HEADER in headers


def node_ready_key(node_type: str) -> str:
    return f"node.ready.{node_type}"


def executor_queue(node_type: str) -> RabbitQueue:
    return durable_queue(f"executor.{node_type}", routing_key=node_ready_key(node_type))


def status_key(tenant_id: str, workflow_id: str, execution_id: str) -> str:
    return f"status.{tenant_id}.{workflow_id}.{execution_id}"


def progress_key(tenant_id: str, workflow_id: str, execution_id: str) -> str:
    """Routing key of `NodeProgress` on the status exchange (not persisted, not sequenced)."""
    return f"progress.{tenant_id}.{workflow_id}.{execution_id}"


COMMAND_START_QUEUE = durable_queue("orchestrator.execution.start", EXECUTION_START)
COMMAND_CANCEL_QUEUE = durable_queue("orchestrator.execution.cancel", EXECUTION_CANCEL)
RESULTS_QUEUE = durable_queue("orchestrator.node.result", NODE_RESULT)
ACTIVATED_QUEUE = durable_queue("orchestrator.workflow.activated", WORKFLOW_ACTIVATED)
DEACTIVATED_QUEUE = durable_queue("orchestrator.workflow.deactivated", WORKFLOW_DEACTIVATED)
# Every outside event (`portico.events`, any routing key): the orchestrator matches patterns.
EVENTS_QUEUE = durable_queue("orchestrator.events", "#")
ORCHESTRATOR_RPC_QUEUE = RabbitQueue(ORCHESTRATOR_RPC_QUEUE_NAME, durable=False, auto_delete=False)
# Not durable: a request (a secret value on its way in or out) is never written to disk.
CREDENTIALS_RPC_QUEUE = RabbitQueue(CREDENTIALS_RPC_QUEUE_NAME, durable=False, auto_delete=False)
AI_RPC_QUEUE = RabbitQueue(AI_RPC_QUEUE_NAME, durable=False, auto_delete=False)
DEAD_LETTER_QUEUE = RabbitQueue(DEAD_LETTER_QUEUE_NAME, durable=True)
# No dead-letter exchange of its own: a dead letter that cannot be handled is only logged.
ORCHESTRATOR_DEAD_LETTERS_QUEUE = RabbitQueue(ORCHESTRATOR_DEAD_LETTERS_QUEUE_NAME, durable=True)
