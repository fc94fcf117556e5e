"""Networks for Gephi: who recruited whom, and how the chats link to each other.

`recruitment_graph(case)`: nodes are actors (`user:123`, `channel:5`, or `name:Display Name`
when a name in a service event matches no single actor); edges run from inviter to joiner:

- `creation`: the creator of a group to the members named in `create_group`;
- `invite`: `invite_members` (the actor added the named members);
- `link`: `join_group_by_link` (the joiner came through the link of the named `inviter`).

Names in service events are display names; an edge that needed a name resolved to an actor
is `inferred` (exactly one actor seen with that name, else a `name:` node).

`chat_graph(case)`: nodes are the case's chats (`chat:<bare id>`), other Telegram places
(`tme:<username>`, `invite:<url>` for invite links, `chat:<id>` for `t.me/c/<id>` links) and
forward sources (`user:..`, `channel:..`, `name:..`). Edges:

- `link` from a chat to a t.me place a message in it links to (text, entity or bot button);
  `backup` when the link was announced in a pinned message or in an inline bot button;
- `forward` from a forward source to the chat a message was forwarded into.

Edges are aggregated: `count`, and the first message (`first_source`, `first_date`).
`write_graph(graph, path)` writes GraphML (`.graphml`) or GEXF (`.gexf`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import networkx as nx
from sqlalchemy import select

from ..case import Case
from ..errors import BadInput
from ..stats import _latest
from ..store import models as m
from . import iso_utc
from .offenders import names_index

MSG, ACT, CHAT, SE, F = m.MESSAGES, m.ACTORS, m.CHATS, m.SERVICE_EVENTS, m.FINDINGS


def _labels(conn: Any) -> dict[int, str]:
    """Actor pk -> the display name (or username) seen last."""
    out: dict[int, tuple[Any, str]] = {}
    for actor, value, last in conn.execute(
        select(m.ACTOR_NAMES.c.actor_id, m.ACTOR_NAMES.c.value, m.ACTOR_NAMES.c.last_seen_utc)
    ):
        key = (last is not None, last)
        if actor not in out or key >= out[actor][0]:
            out[actor] = (key, value)
    return {actor: value for actor, (_, value) in out.items()}


def _add_node(g: nx.DiGraph, node: str, **attrs: Any) -> None:
    clean = {k: v for k, v in attrs.items() if v is not None}
    if node in g:
        for k, v in clean.items():
            g.nodes[node].setdefault(k, v)
    else:
        g.add_node(node, **clean)


def _add_edge(g: nx.DiGraph, a: str, b: str, kind: str, source: str, date: Any, **attrs: Any):
    if g.has_edge(a, b):
        e = g.edges[a, b]
        e["count"] += 1
        if kind not in e["kinds"].split(","):
            e["kinds"] += "," + kind
        if kind == "backup":
            e["kind"] = "backup"
        for k, v in attrs.items():
            if isinstance(v, bool):
                e[k] = bool(e.get(k)) or v
        return
    g.add_edge(
        a,
        b,
        kind=kind,
        kinds=kind,
        count=1,
        first_source=source,
        first_date=iso_utc(date) or "",
        **{k: v for k, v in attrs.items() if v is not None},
    )


def _source(chat_tg: int, message_id: int, link: str | None) -> str:
    return link or f"{chat_tg}/{message_id}"


def recruitment_graph(case: Case) -> nx.DiGraph:
    latest = _latest()
    g = nx.DiGraph(name="recruitment")
    with case.engine.connect() as conn:
        actors = {
            r.id: r for r in conn.execute(select(ACT.c.id, ACT.c.key, ACT.c.tg_id, ACT.c.kind))
        }
        labels = _labels(conn)
        by_name = names_index(conn)
        chat_tg = dict(conn.execute(select(CHAT.c.id, CHAT.c.tg_id)).all())
        events = conn.execute(
            select(SE.c.action, SE.c.actor_id, SE.c.detail, MSG.c.chat_id, MSG.c.message_id)
            .add_columns(MSG.c.date_utc, MSG.c.link)
            .join(MSG, MSG.c.id == SE.c.message_pk)
            .where(MSG.c.id.in_(select(latest.c.id)))
            .where(
                SE.c.action.in_(
                    ("create_group", "create_channel", "invite_members", "join_group_by_link")
                )
            )
            .order_by(MSG.c.date_utc, MSG.c.id)
        ).all()

    def actor_node(pk: int | None) -> str | None:
        if pk is None or pk not in actors:
            return None
        a = actors[pk]
        _add_node(g, a.key, label=labels.get(pk, a.key), tg_id=a.tg_id, kind=a.kind, inferred=False)
        return str(a.key)

    def name_node(name: Any) -> tuple[str | None, bool]:
        if not isinstance(name, str) or not name:
            return None, False
        pks = by_name.get(name, [])
        if len(pks) == 1:
            return actor_node(pks[0]), True
        node = f"name:{name}"
        _add_node(g, node, label=name, kind="name", inferred=True)
        return node, True

    for r in events:
        detail = r.detail or {}
        src = _source(chat_tg[r.chat_id], r.message_id, r.link)
        chat = chat_tg[r.chat_id]
        if r.action == "join_group_by_link":
            joiner = actor_node(r.actor_id)
            inviter, _ = name_node(detail.get("inviter"))
            if joiner and inviter and joiner != inviter:
                _add_edge(g, inviter, joiner, "link", src, r.date_utc, chat_id=chat, inferred=True)
            continue
        actor = actor_node(r.actor_id)
        kind = "invite" if r.action == "invite_members" else "creation"
        for member in detail.get("members") or []:
            node, inferred = name_node(member)
            if actor and node and node != actor:
                _add_edge(g, actor, node, kind, src, r.date_utc, chat_id=chat, inferred=inferred)
    return g


def _place(url: str) -> tuple[str, str]:
    """A t.me link's node and its kind: a chat of `t.me/c/<id>`, an invite, a username."""
    path = url.split("://", 1)[-1].split("/", 1)[1] if "/" in url.split("://", 1)[-1] else ""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "c" and parts[1].isdigit():
        return f"chat:{int(parts[1])}", "chat"
    if parts and (parts[0].startswith("+") or parts[0] == "joinchat"):
        return f"invite:{url}", "invite"
    if parts:
        return f"tme:{parts[0].lower()}", "username"
    return f"link:{url}", "link"


def chat_graph(case: Case) -> nx.DiGraph:
    latest = _latest()
    g = nx.DiGraph(name="chats")
    with case.engine.connect() as conn:
        chats = conn.execute(select(CHAT.c.id, CHAT.c.tg_id, CHAT.c.marked_id, CHAT.c.type)
                             .add_columns(CHAT.c.name)).all()  # fmt: skip
        actors = {
            r.id: r for r in conn.execute(select(ACT.c.id, ACT.c.key, ACT.c.tg_id, ACT.c.kind))
        }
        labels = _labels(conn)
        pinned = {
            (chat_id, detail.get("message_id"))
            for chat_id, detail in conn.execute(
                select(MSG.c.chat_id, SE.c.detail)
                .join(MSG, MSG.c.id == SE.c.message_pk)
                .where(SE.c.action == "pin_message")
            )
            if isinstance(detail, dict)
        }
        links = conn.execute(
            select(F.c.value, F.c.detail, MSG.c.chat_id, MSG.c.message_id, MSG.c.date_utc)
            .add_columns(MSG.c.link)
            .join(MSG, MSG.c.id == F.c.message_pk)
            .where(F.c.kind == "link.telegram", MSG.c.id.in_(select(latest.c.id)))
            .order_by(MSG.c.date_utc, MSG.c.id, F.c.id)
        ).all()
        forwards = conn.execute(
            select(MSG.c.chat_id, MSG.c.message_id, MSG.c.date_utc, MSG.c.link)
            .add_columns(MSG.c.forwarded_from, MSG.c.forwarded_from_id)
            .where(MSG.c.id.in_(select(latest.c.id)))
            .where(MSG.c.forwarded_from.is_not(None) | MSG.c.forwarded_from_id.is_not(None))
            .order_by(MSG.c.date_utc, MSG.c.id)
        ).all()

    chat_tg: dict[int, int] = {}
    for c in chats:
        chat_tg[c.id] = c.tg_id
        _add_node(
            g,
            f"chat:{c.tg_id}",
            label=c.name or f"chat {c.tg_id}",
            kind="chat",
            tg_id=c.tg_id,
            marked_id=c.marked_id,
            chat_type=c.type,
            in_case=True,
        )
    for r in links:
        node, kind = _place(r.value)
        _add_node(g, node, label=r.value, kind=kind, in_case=False)
        here = f"chat:{chat_tg[r.chat_id]}"
        if node == here:
            continue
        button = (r.detail or {}).get("from") == "inline_button"
        pin = (r.chat_id, r.message_id) in pinned
        _add_edge(
            g,
            here,
            node,
            "backup" if (button or pin) else "link",
            _source(chat_tg[r.chat_id], r.message_id, r.link),
            r.date_utc,
            pinned=pin,
            button=button,
        )
    for r in forwards:
        here = f"chat:{chat_tg[r.chat_id]}"
        a = actors.get(r.forwarded_from_id) if r.forwarded_from_id is not None else None
        if a is not None and a.tg_id is not None and a.kind in ("channel", "chat"):
            node = f"chat:{a.tg_id}"
            _add_node(g, node, label=labels.get(a.id, r.forwarded_from or a.key), kind="chat",
                      tg_id=a.tg_id, in_case=False)  # fmt: skip
        elif a is not None:
            node = str(a.key)
            _add_node(g, node, label=labels.get(a.id, r.forwarded_from or a.key), kind=a.kind,
                      tg_id=a.tg_id, in_case=False)  # fmt: skip
        else:
            node = f"name:{r.forwarded_from}"
            _add_node(g, node, label=r.forwarded_from, kind="name", in_case=False)
        if node != here:
            source = _source(chat_tg[r.chat_id], r.message_id, r.link)
            _add_edge(g, node, here, "forward", source, r.date_utc)
    return g


# Characters XML 1.0 cannot carry at all (hostile names can hold them): dropped on export.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _safe(value: Any) -> Any:
    """GraphML/GEXF-safe attribute values: bool, int, float or XML-clean str."""
    if isinstance(value, bool | int | float):
        return value
    return _NOT_XML.sub("", str(value))


def write_graph(graph: nx.DiGraph, path: Path | str) -> dict[str, Any]:
    """Write `graph` as GraphML (.graphml) or GEXF (.gexf), chosen by the suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".graphml", ".gexf"):
        raise BadInput(f"{path}: choose a .graphml or .gexf file name")
    out = nx.DiGraph()
    out.graph.update({k: _safe(v) for k, v in graph.graph.items() if v is not None})
    for node, attrs in graph.nodes(data=True):
        out.add_node(_safe(str(node)), **{k: _safe(v) for k, v in attrs.items() if v is not None})
    for a, b, attrs in graph.edges(data=True):
        out.add_edge(
            _safe(str(a)), _safe(str(b)), **{k: _safe(v) for k, v in attrs.items() if v is not None}
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".graphml":
            nx.write_graphml(out, path)
        else:
            nx.write_gexf(out, path)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    return {"path": str(path), "nodes": out.number_of_nodes(), "edges": out.number_of_edges()}
