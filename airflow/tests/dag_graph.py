"""Read a DAG file's structure without importing Airflow (not installable everywhere): parse it with
`ast`, statically evaluate the string expressions that build each task's bash command, and print
JSON: the DAG's arguments, its tasks (task_id, operator, bash_command, keywords) and the dependency
edges and a topological order.

Usage: python3 airflow/tests/dag_graph.py airflow/dags/music_pipeline.py
"""

from __future__ import annotations

import ast
import json
import sys
from typing import Any


class Unresolved(Exception):
    pass


class Evaluator:
    """Evaluates constant-ish expressions: literals, module-level names, +, f-strings, dict/list
    literals and calls to module-level functions whose body ends in `return <expr>`."""

    def __init__(self, module: ast.Module) -> None:
        self.names: dict[str, ast.expr] = {}
        self.functions: dict[str, ast.FunctionDef] = {}
        self.docstring = ast.get_docstring(module)
        for node in module.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.names[target.id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                self.names[node.target.id] = node.value
            elif isinstance(node, ast.FunctionDef):
                self.functions[node.name] = node

    def eval(self, node: ast.expr, scope: dict[str, Any] | None = None) -> Any:
        scope = scope or {}
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in scope:
                return scope[node.id]
            if node.id == "__doc__":
                return self.docstring
            if node.id in self.names:
                return self.eval(self.names[node.id])
            raise Unresolved(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.eval(node.left, scope) + self.eval(node.right, scope)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    parts.append(str(self.eval(value.value, scope)))
                else:
                    parts.append(str(self.eval(value, scope)))
            return "".join(parts)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.eval(e, scope) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {self.eval(k, scope): self.eval(v, scope) for k, v in zip(node.keys, node.values) if k is not None}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.functions:
            fn = self.functions[node.func.id]
            params = [a.arg for a in fn.args.args]
            local = {p: self.eval(a, scope) for p, a in zip(params, node.args)}
            for kw in node.keywords:
                if kw.arg:
                    local[kw.arg] = self.eval(kw.value, scope)
            returns = [n for n in fn.body if isinstance(n, ast.Return) and n.value is not None]
            if not returns:
                raise Unresolved(fn.name)
            return self.eval(returns[-1].value, local)
        if isinstance(node, ast.Call):
            # e.g. timedelta(minutes=5): keep its source text
            return ast.unparse(node)
        raise Unresolved(ast.unparse(node))

    def try_eval(self, node: ast.expr) -> Any:
        try:
            return self.eval(node)
        except Unresolved:
            return {"unresolved": ast.unparse(node)}


def call_name(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return ""


def main(path: str) -> None:
    with open(path, encoding="utf-8") as fh:
        module = ast.parse(fh.read(), filename=path)
    ev = Evaluator(module)

    dag: dict[str, Any] = {}
    tasks: list[dict[str, Any]] = []
    var_to_task: dict[str, str] = {}
    edges: list[list[str]] = []

    for node in ast.walk(module):
        if isinstance(node, ast.Call) and call_name(node) == "DAG":
            dag = {kw.arg: ev.try_eval(kw.value) for kw in node.keywords if kw.arg}
            dag["doc_md_is_module_docstring"] = any(
                kw.arg == "doc_md" and isinstance(kw.value, ast.Name) and kw.value.id == "__doc__" for kw in node.keywords
            )
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and call_name(node.value).endswith("Operator"):
            call = node.value
            kws = {kw.arg: ev.try_eval(kw.value) for kw in call.keywords if kw.arg and kw.arg != "env"}
            task = {"operator": call_name(call), **kws}
            task["env_keys"] = sorted(
                ev.try_eval(next(kw.value for kw in call.keywords if kw.arg == "env")).keys()
            ) if any(kw.arg == "env" for kw in call.keywords) else None
            tasks.append(task)
            for target in node.targets:
                if isinstance(target, ast.Name):
                    var_to_task[target.id] = str(kws.get("task_id"))

    def task_ids(node: ast.expr) -> list[str]:
        if isinstance(node, ast.Name) and node.id in var_to_task:
            return [var_to_task[node.id]]
        if isinstance(node, (ast.List, ast.Tuple)):
            return [t for e in node.elts for t in task_ids(e)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.RShift, ast.LShift)):
            return shift(node)
        return []

    def shift(node: ast.BinOp) -> list[str]:
        """`a >> b` adds a→b and evaluates to b (so chains work); `a << b` adds b→a and evaluates to b."""
        left, right = task_ids(node.left), task_ids(node.right)
        for l in left:
            for r in right:
                edges.append([l, r] if isinstance(node.op, ast.RShift) else [r, l])
        return right

    for node in ast.walk(module):
        if isinstance(node, ast.Expr):
            value = node.value
            if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.RShift, ast.LShift)):
                shift(value)
            elif isinstance(value, ast.Call) and call_name(value) == "chain":
                groups = [task_ids(a) for a in value.args]
                for a, b in zip(groups, groups[1:]):
                    edges.extend([x, y] for x in a for y in b)
            elif isinstance(value, ast.Call) and call_name(value) in ("set_downstream", "set_upstream"):
                f = value.func
                if isinstance(f, ast.Attribute):
                    src = task_ids(f.value)
                    dst = [t for a in value.args for t in task_ids(a)]
                    for s in src:
                        for d in dst:
                            edges.append([s, d] if call_name(value) == "set_downstream" else [d, s])

    # A task without env= gets the DAG's default_args["env"] (as Airflow applies default_args).
    default_env = (dag.get("default_args") or {}).get("env") if isinstance(dag.get("default_args"), dict) else None
    for task in tasks:
        if task["env_keys"] is None:
            task["env_keys"] = sorted(default_env.keys()) if isinstance(default_env, dict) else []

    # Kahn's algorithm; ties broken by declaration order.
    ids = [str(t.get("task_id")) for t in tasks]
    indegree = {i: 0 for i in ids}
    for _, d in edges:
        indegree[d] = indegree.get(d, 0) + 1
    order: list[str] = []
    ready = [i for i in ids if indegree[i] == 0]
    while ready:
        n = ready.pop(0)
        order.append(n)
        for s, d in edges:
            if s == n:
                indegree[d] -= 1
                if indegree[d] == 0:
                    ready.append(d)

    print(json.dumps({
        "file": path,
        "docstring": ev.docstring,
        "dag": dag,
        "tasks": tasks,
        "edges": edges,
        "order": order,
        "acyclic": len(order) == len(ids),
    }, indent=2, default=str))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: dag_graph.py <dag file>")
    main(sys.argv[1])
