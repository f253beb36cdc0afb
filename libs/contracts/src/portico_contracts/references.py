"""What a node's config can read from its context, so `node.ready` carries only that.

A node's templates (Jinja) and JSONata expressions see `trigger`, `nodes` (every ancestor's
output), `execution` and `input`. Sending every ancestor's output with every `node.ready` grows
without bound along a chain of large responses, so the orchestrator asks `node_references` which
`nodes.<id>` a node names, and whether it reads `trigger` or `input`, and sends only those.

The analysis may report more than a node reads, never less: a missing output is an undefined
value in Jinja (the node fails) and silently nothing in JSONata (a wrong result). Whenever
`nodes` is reached in a way we cannot name statically (`nodes[var]`, `nodes | …`, a loop over
it, `$lookup($$, …)`, `$`, …) the answer is `all_nodes`; a source that does not parse reads
everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any, Literal

from jinja2 import nodes as jinja
from jinja2.exceptions import TemplateSyntaxError

from portico_contracts.graph import Node, WorkflowGraph
from portico_contracts.nodes import NODE_TYPES
from portico_contracts.templates import _ENV, is_template

__all__ = [
    "EVERYTHING",
    "NOTHING",
    "References",
    "graph_references",
    "jsonata_references",
    "node_references",
    "template_references",
    "value_references",
]


@dataclass(frozen=True, slots=True)
class References:
    """The parts of the context a node may read; `execution` is small and always sent."""

    nodes: frozenset[str] = frozenset()  # ids named as nodes.<id> / nodes['<id>']
    all_nodes: bool = False  # `nodes` is read dynamically: send every ancestor's output
    input: bool = False  # reads `input` (its active predecessors' outputs)
    trigger: bool = False  # reads `trigger` (the trigger's output)

    def __or__(self, other: References) -> References:
        return References(
            nodes=self.nodes | other.nodes,
            all_nodes=self.all_nodes or other.all_nodes,
            input=self.input or other.input,
            trigger=self.trigger or other.trigger,
        )

    def reads_node(self, node_id: str) -> bool:
        return self.all_nodes or node_id in self.nodes

    def nodes_among(self, candidates: Iterable[str]) -> set[str]:
        """The candidates (a node's ancestors, say) whose outputs the node may read."""
        return {node_id for node_id in candidates if self.reads_node(node_id)}


NOTHING = References()
EVERYTHING = References(all_nodes=True, input=True, trigger=True)

# What a node type reads besides its config: merge outputs its inputs.
_IMPLICIT: dict[str, References] = {"merge": References(input=True)}


def node_references(node: Node) -> References:
    """Everything `node` may read when it runs: its templates, expressions and implicit inputs."""
    node_type = NODE_TYPES.get(node.type)
    if node_type is None:  # no executor knows how it would read its config
        return EVERYTHING
    found = _IMPLICIT.get(node.type, NOTHING)
    untemplated = node_type.config_model.untemplated_fields()
    for key, value in node.config.items():
        if key not in untemplated:
            found |= value_references(value)
        else:
            found |= _untemplated_references(node.type, key, value)
    return found


def graph_references(graph: WorkflowGraph) -> dict[str, References]:
    """`node_references` of every node, by id: compute once per graph and keep it."""
    return {node.id: node_references(node) for node in graph.nodes}


# How each untemplated config field is read. A field missing here (a new node type's) is
# assumed to read everything, so forgetting to classify it costs bytes, never correctness.
_UNTEMPLATED_READERS: dict[tuple[str, str], Literal["inert", "jsonata"]] = {
    ("trigger.manual", "sample_payload"): "inert",  # shown by the editor, never evaluated
    ("transform", "expression"): "jsonata",
    ("ai", "json_schema"): "inert",  # handed to the model and the validator, never evaluated
    # Trigger configs are read by the gateway and the orchestrator, never rendered.
    **{
        ("trigger.webhook", name): "inert"
        for name in ("path", "auth", "response_node", "response_headers")
    },
    ("trigger.cron", "expression"): "inert",
    ("trigger.cron", "timezone"): "inert",
    ("trigger.event", "pattern"): "inert",
}


def _untemplated_references(node_type: str, key: str, value: Any) -> References:
    reader = _UNTEMPLATED_READERS.get((node_type, key))
    if reader == "inert" or value is None:
        return NOTHING
    if reader == "jsonata" and isinstance(value, str):
        return jsonata_references(value)
    return EVERYTHING


def value_references(value: Any) -> References:
    """References of every template string in `value`, walked as `render_value` walks it."""
    if isinstance(value, str):
        return template_references(value) if is_template(value) else NOTHING
    found = NOTHING
    if isinstance(value, Mapping):
        for item in value.values():  # keys are never rendered
            found |= value_references(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= value_references(item)
    return found


# --- Jinja -----------------------------------------------------------------------------------

# `nodes.items` is the node "items" if there is one, else dict.items: read them all.
_DICT_ATTRIBUTES = frozenset(dir(dict))


@lru_cache(maxsize=4096)
def template_references(source: str) -> References:
    """What one Jinja template reads (parsed by the same environment that renders it)."""
    try:
        tree = _ENV.parse(source)
        return _jinja_references(tree)
    except (TemplateSyntaxError, RecursionError, SyntaxError):
        return EVERYTHING  # it cannot render anyway; claim the most


def _static_key(access: jinja.Getattr | jinja.Getitem) -> str | None:
    if isinstance(access, jinja.Getattr):
        return access.attr
    if isinstance(access.arg, jinja.Const) and isinstance(access.arg.value, str):
        return access.arg.value
    return None


def _jinja_references(tree: jinja.Template) -> References:
    loads = [name for name in tree.find_all(jinja.Name) if name.ctx == "load"]
    nodes_names = {id(name) for name in loads if name.name == "nodes"}
    named: set[str] = set()
    claimed: set[int] = set()
    dynamic = False
    accesses: Iterator[jinja.Getattr | jinja.Getitem] = chain(
        tree.find_all(jinja.Getattr), tree.find_all(jinja.Getitem)
    )
    for access in accesses:
        if id(access.node) not in nodes_names:
            continue
        key = _static_key(access)
        if key is None:
            continue  # nodes[expr]: left unclaimed, so it counts as a dynamic read
        claimed.add(id(access.node))
        named.add(key)
        dynamic |= key in _DICT_ATTRIBUTES
    return References(
        nodes=frozenset(named),
        all_nodes=dynamic or bool(nodes_names - claimed),
        input=any(name.name == "input" for name in loads),
        trigger=any(name.name == "trigger" for name in loads),
    )


# --- JSONata ---------------------------------------------------------------------------------

# Built-ins that, given too few arguments, take the context (the root, at top level) as their
# first argument, with how many arguments rule that out: `$lookup("nodes")` is `$$.nodes`.
# Built-ins whose context argument must be a string or number would fail on the root object.
_CONTEXT_FUNCTIONS: dict[str, int] = {
    "string": 1,
    "boolean": 1,
    "not": 1,
    "keys": 1,
    "spread": 1,
    "clone": 1,
    "lookup": 2,
    "each": 2,
    "sift": 2,
}
# Symbol attributes that are parser bookkeeping, not sub-expressions.
_BOOKKEEPING = frozenset({"_outer_instance", "ancestor", "slot", "seeking_parent"})


class _EverythingError(Exception):
    """The expression may read the whole context; stop looking."""


@lru_cache(maxsize=4096)
def jsonata_references(expression: str) -> References:
    """What one JSONata expression (evaluated against the template context) reads."""
    import jsonata  # imported lazily, as in jsonata_check: only transforms pay for it
    from jsonata.parser import Parser

    try:
        tree = jsonata.Jsonata(expression).ast
    except Exception:  # jsonata raises its own JException for every syntax problem
        return EVERYTHING  # it cannot run anyway; claim the most
    scan = _JsonataScan(Parser.Symbol)
    try:
        scan.expression(tree, rooted=True)
    except Exception:  # _EverythingError, too deep, or a parser version we do not know
        return EVERYTHING
    return scan.result()


class _JsonataScan:
    """Walks a parsed JSONata expression.

    `rooted` says whether the context an expression is evaluated against may be the root
    object ({trigger, nodes, execution, input}). It is only ever False where the context is
    provably the value of a named field (the steps after `a.b`, the predicates of a field), so
    every doubt resolves to "may be the root", which reports more, never less.
    """

    def __init__(self, symbol_type: type) -> None:
        self._symbol_type = symbol_type
        self.nodes: set[str] = set()
        self.all_nodes = False
        self.input = False
        self.trigger = False
        self._seen: set[tuple[int, bool]] = set()

    def result(self) -> References:
        return References(frozenset(self.nodes), self.all_nodes, self.input, self.trigger)

    def expression(self, symbol: Any, rooted: bool) -> None:
        key = (id(symbol), rooted)
        if key in self._seen:
            return
        self._seen.add(key)
        kind = symbol.type
        if kind == "path":
            self._path(symbol, rooted)
        elif kind == "name":
            self._steps([symbol], rooted)
        elif kind == "variable":
            self._variable(symbol, rooted, last_step=True)
        elif kind in ("function", "partial"):
            self._call(symbol, rooted, piped=False)
        elif kind == "apply" and symbol.rhs is not None and symbol.rhs.type == "function":
            self.expression(symbol.lhs, rooted)
            self._call(symbol.rhs, rooted, piped=True)
        elif kind == "apply" and symbol.rhs is not None and symbol.rhs.type == "variable":
            self.expression(symbol.lhs, rooted)  # `x ~> $f` is `$f(x)`
            self._check_builtin(symbol.rhs.value, rooted, supplied=1)
        elif kind == "lambda" and symbol.signature is not None:
            raise _EverythingError  # a `-` in its signature feeds it the context
        elif kind == "parent" or (rooted and kind in ("wildcard", "descendant")):
            raise _EverythingError
        elif kind == "transform":  # applied to whatever `~>` feeds it, the root included
            self._children(symbol, rooted=True)
        else:
            self._children(symbol, rooted)

    def _children(self, symbol: Any, rooted: bool, skip: frozenset[str] = frozenset()) -> None:
        for attribute, value in vars(symbol).items():
            if attribute not in _BOOKKEEPING and attribute not in skip:
                for child in self._symbols(value):
                    self.expression(child, rooted)

    def _symbols(self, value: Any) -> Iterator[Any]:
        if isinstance(value, self._symbol_type):
            yield value
        elif isinstance(value, list | tuple):
            for item in value:
                yield from self._symbols(item)

    def _path(self, path: Any, rooted: bool) -> None:
        self._steps(list(path.steps or []), rooted)
        self._children(path, rooted=True, skip=frozenset({"steps"}))  # group-by and friends

    def _steps(self, steps: list[Any], rooted: bool) -> None:
        """One path. Besides `rooted`, track whether a step's context is the `nodes` object."""
        in_nodes = False
        for index, step in enumerate(steps):
            last = index == len(steps) - 1
            after = self._step(step, rooted, in_nodes, last)
            if step.focus or step.index is not None:
                # `a@$v.b`: b sees what a saw (so `nodes.x@$v.y` reads nodes.y); `a#$i.b`
                # keeps a's output. Allow for both.
                after = (after[0] or rooted, after[1] or in_nodes)
            rooted, in_nodes = after
        if in_nodes:
            self.all_nodes = True  # the path hands over the `nodes` object itself

    def _step(self, step: Any, rooted: bool, in_nodes: bool, last: bool) -> tuple[bool, bool]:
        """Look at one step; return (rooted, in_nodes) for the step after it."""
        if step.type != "name":
            if in_nodes:
                self.all_nodes = True  # `nodes.*`, `nodes.$keys()`, `nodes.($)`…
            if step.type == "variable":
                self._variable(step, rooted, last_step=last)
            else:
                self.expression(step, rooted)
            return True, False  # a variable, block or call may yield the root
        if in_nodes:
            self.nodes.add(str(step.value))
        reads_nodes = rooted and self._root_field(step)
        self._children(step, rooted=False)  # its predicates see the field's values
        return False, reads_nodes  # a field's value is never the root

    def _root_field(self, step: Any) -> bool:
        """Record a field of the root; True when it is `nodes`, whose fields come next."""
        if step.value == "trigger":
            self.trigger = True
        elif step.value == "input":
            self.input = True
        elif step.value == "nodes":
            # `nodes[…]` filters with nodes as the context; `nodes@$n` binds it to a name.
            if step.stages or step.predicate or step.focus or step.index is not None:
                self.all_nodes = True
            return True
        return False

    def _variable(self, variable: Any, rooted: bool, last_step: bool) -> None:
        # `$$` is always the root, `$` is the context; followed by `.field` they are handled
        # as a step, alone they hand over the whole object.
        root = variable.value == "$" or (variable.value == "" and rooted)
        if root and last_step:
            raise _EverythingError
        # A context-taking built-in passed around as a value may be called with nothing.
        self._check_builtin(variable.value, rooted, supplied=0)
        self._children(variable, rooted=True)  # `$x[…]`: $x may hold the root

    @staticmethod
    def _check_builtin(name: str | None, rooted: bool, supplied: int) -> None:
        if name == "eval":
            raise _EverythingError  # evaluates a string we cannot see against the context
        if rooted and name in _CONTEXT_FUNCTIONS and supplied < _CONTEXT_FUNCTIONS[name]:
            raise _EverythingError  # `$lookup("nodes")` is `$$.nodes`

    def _call(self, call: Any, rooted: bool, piped: bool) -> None:
        procedure = call.procedure
        name = procedure.value if procedure is not None and procedure.type == "variable" else None
        supplied = len(call.arguments or []) + (1 if piped else 0)
        self._check_builtin(name, rooted, supplied)
        if name is None and procedure is not None:
            self.expression(procedure, rooted)
        self._children(call, rooted, skip=frozenset({"procedure"}))
