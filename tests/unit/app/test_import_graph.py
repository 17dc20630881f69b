"""voltfleet's modules import each other without circles (a circle makes import order matter and
hides which layer depends on which)."""

from __future__ import annotations

import grimp


def _circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_import_circles() -> None:
    graph = grimp.build_graph("voltfleet")
    assert _circles(graph) == []


def test_errors_edge_does_not_reach_the_portal() -> None:
    """The error mapping gets the portal's error page from bootstrap instead of importing it
    (the circle errors -> portal.render -> deps -> runtime -> ratelimit -> errors)."""
    graph = grimp.build_graph("voltfleet")
    assert graph.find_shortest_chain("voltfleet.app.errors", "voltfleet.app.portal.render") is None
    assert graph.find_shortest_chain("voltfleet.app.ratelimit", "voltfleet.app.errors") is None
