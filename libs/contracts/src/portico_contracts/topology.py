"""Names of exchanges, queues and routing keys, and how each queue is declared.

Every durable queue dead-letters into `portico.dead` so a message nobody can process is kept
with its reason (header `x-portico-error`) instead of looping or vanishing.
"""

from __future__ import annotations

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QuorumQueueArgs

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
DEAD_LETTER_QUEUE_NAME = "portico.dead"
ORCHESTRATOR_DEAD_LETTERS_QUEUE_NAME = "orchestrator.dead-letters"

# Header set on a dead-lettered message: why it was refused.
DEAD_LETTER_REASON_HEADER = "x-portico-error"
# Header set on a node.ready the orchestrator's outbox relay sent: the replica that wrote it
# may have published it already, so an executor treats it like a redelivery.
RELAYED_HEADER = "x-portico-relayed"

# Deliveries of one message before RabbitMQ gives up on it. A transient failure (database
# down) is retried inside the consumer without giving the message back, so only crashes and
# shutdowns count: a message that kills its consumer ten times in a row is poison.
DELIVERY_LIMIT = 10

_WORK_QUEUE_ARGS: QuorumQueueArgs = {
    "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
    "x-delivery-limit": DELIVERY_LIMIT,
}


def durable_queue(name: str, routing_key: str | None = None) -> RabbitQueue:
    return RabbitQueue(
        name,
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=routing_key or name,
        arguments=_WORK_QUEUE_ARGS,
    )


def node_ready_key(node_type: str) -> str:
    return f"node.ready.{node_type}"


def executor_queue(node_type: str) -> RabbitQueue:
    return durable_queue(f"executor.{node_type}", routing_key=node_ready_key(node_type))


def status_key(tenant_id: str, workflow_id: str, execution_id: str) -> str:
    return f"status.{tenant_id}.{workflow_id}.{execution_id}"


COMMAND_START_QUEUE = durable_queue("orchestrator.execution.start", EXECUTION_START)
COMMAND_CANCEL_QUEUE = durable_queue("orchestrator.execution.cancel", EXECUTION_CANCEL)
RESULTS_QUEUE = durable_queue("orchestrator.node.result", NODE_RESULT)
ORCHESTRATOR_RPC_QUEUE = RabbitQueue(ORCHESTRATOR_RPC_QUEUE_NAME, durable=False, auto_delete=False)
DEAD_LETTER_QUEUE = RabbitQueue(DEAD_LETTER_QUEUE_NAME, durable=True)
# No dead-letter exchange of its own: a dead letter that cannot be handled is only logged.
ORCHESTRATOR_DEAD_LETTERS_QUEUE = RabbitQueue(ORCHESTRATOR_DEAD_LETTERS_QUEUE_NAME, durable=True)
