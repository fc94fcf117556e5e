"""Network graphs drawn on the server as SVG (no script): recruitment and chat links."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..auth import REVIEW, User
from . import case_of, render

router = APIRouter()
SIZE = 720
MAX_NODES = 120


def layout(graph: Any, max_nodes: int = MAX_NODES) -> dict[str, Any]:
    """Node positions (spring layout, fixed seed) and edges for an SVG of the busiest nodes."""
    import networkx as nx

    ranked = sorted(graph.nodes, key=lambda n: (-graph.degree(n), str(n)))
    keep = ranked[:max_nodes]
    sub = graph.subgraph(keep)
    pos = nx.spring_layout(sub, seed=1) if len(sub) else {}
    pad = 40

    def xy(node: Any) -> tuple[float, float]:
        x, y = pos[node]
        return (pad + (x + 1) / 2 * (SIZE - 2 * pad), pad + (y + 1) / 2 * (SIZE - 2 * pad))

    nodes = []
    for node in sub.nodes:
        x, y = xy(node)
        attrs = sub.nodes[node]
        label = attrs.get("label") or attrs.get("name") or str(node)
        nodes.append(
            {
                "id": str(node),
                "label": str(label)[:40],
                "x": x,
                "y": y,
                "degree": graph.degree(node),
            }
        )
    edges = []
    for a, b, attrs in sub.edges(data=True):
        (x1, y1), (x2, y2) = xy(a), xy(b)
        edges.append(
            {
                "a": str(a),
                "b": str(b),
                "x1": x1,
                "y1": y1,
                "x2": x2,
                "y2": y2,
                "kind": attrs.get("kind", ""),
                "count": attrs.get("count", 1),
            }
        )
    return {
        "nodes": nodes,
        "edges": edges,
        "size": SIZE,
        "omitted": graph.number_of_nodes() - len(keep),
        "total_nodes": graph.number_of_nodes(),
        "total_edges": graph.number_of_edges(),
    }


@router.get("/network")
def network(
    request: Request, user: Annotated[User, Depends(REVIEW)], kind: str = "recruitment"
) -> Response:
    from ...analysis.network import chat_graph, recruitment_graph

    kind = "chats" if kind == "chats" else "recruitment"
    case = case_of(request)
    graph = chat_graph(case) if kind == "chats" else recruitment_graph(case)
    return render(request, "network.html", user, kind=kind, g=layout(graph))
