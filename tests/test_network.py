"""Networks: recruitment (inviter to joiner) and chats (links, backups, forwards) for Gephi."""

import json

import networkx as nx
import pytest

from perisai.analysis.network import chat_graph, recruitment_graph, write_graph
from perisai.case import Case
from perisai.errors import BadInput
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import triage
from perisai.synth import synth

from helpers import msg, run_cli, write_export


def _service(i, action, actor, actor_id, **extra):
    m = msg(i, "", type="service", actor=actor, actor_id=actor_id, action=action, **extra)
    del m["from"], m["from_id"]
    return m


def _roundtrip(graph, tmp_path):
    for suffix, read in ((".graphml", nx.read_graphml), (".gexf", nx.read_gexf)):
        path = tmp_path / f"g{suffix}"
        info = write_graph(graph, path)
        back = read(path)
        assert info["nodes"] == back.number_of_nodes() == graph.number_of_nodes()
        assert info["edges"] == back.number_of_edges() == graph.number_of_edges()
        assert back.is_directed()
    return nx.read_graphml(tmp_path / "g.graphml")


def test_synth_networks(tmp_path):
    synth(tmp_path / "export", messages=800, photos=0, seed=5)
    truth = json.loads((tmp_path / "export" / "ground_truth.json").read_text())
    case = Case.open(tmp_path / "case")
    ingest(case, tmp_path / "export")
    triage(case, workers=1, only="text")

    rec = recruitment_graph(case)
    kinds = {d["kind"] for _, _, d in rec.edges(data=True)}
    assert {"creation", "invite", "link"} <= kinds
    joins = sum(
        1
        for x in json.loads((tmp_path / "export" / "result.json").read_text())["messages"]
        if x.get("action") == "join_group_by_link"
    )
    link_edges = sum(d["count"] for _, _, d in rec.edges(data=True) if d["kind"] == "link")
    assert 0.8 * joins <= link_edges <= joins  # names that match no single actor are skipped
    for a, b, d in rec.edges(data=True):
        assert a != b and d["count"] >= 1 and d["first_source"]
    back = _roundtrip(rec, tmp_path)
    assert all(v is not None for _, d in back.nodes(data=True) for v in d.values())

    chats = chat_graph(case)
    home = f"chat:{truth['chat']['id']}"
    assert chats.nodes[home]["in_case"] is True
    backups = {b for a, b, d in chats.edges(data=True) if d["kind"] == "backup"}
    pinned_links = {
        p["value"]
        for r in truth["messages"]
        if r["kind"] == "backup_announcement"
        for p in r.get("pii", ())
        if p["kind"] == "link.telegram"
    }
    assert pinned_links
    for url in pinned_links:
        node = next(n for n in chats.nodes if n.endswith(url) or chats.nodes[n]["label"] == url)
        assert node in backups
    assert any(d["kind"] == "forward" for _, _, d in chats.edges(data=True))
    _roundtrip(chats, tmp_path)


def test_crafted_links_buttons_forwards_and_hostile_names(tmp_path):
    evil = "<script>alert(1)</script>\u202e\x07 Admin"
    messages = [
        _service(1, "create_group", evil, "user11", title="G", members=["Ali", "Abu"]),
        msg(2, "hi", **{"from": "Ali", "from_id": "user12"}),
        _service(3, "join_group_by_link", "Siti", "user13", inviter="Ali"),
        _service(4, "join_group_by_link", "Orang", "user14", inviter="Nobody Known"),
        msg(
            5,
            "join sini",
            **{"from": evil, "from_id": "user11"},
            inline_bot_buttons=[
                [{"type": "url", "text": "Backup", "data": "https://t.me/geng_backup"}]
            ],
        ),
        msg(6, "lama https://t.me/c/1777000001/55", **{"from": "Ali", "from_id": "user12"}),
        msg(7, "fwd", forwarded_from="Koleksi", forwarded_from_id="channel1888000002"),
        msg(8, "fwd", forwarded_from="Koleksi", forwarded_from_id="channel1888000002"),
        msg(9, "fwd lama", forwarded_from="Someone Hidden"),
    ]
    write_export(tmp_path / "export", messages)
    case = Case.open(tmp_path / "case")
    ingest(case, tmp_path / "export")
    triage(case, workers=1, only="text")

    rec = recruitment_graph(case)
    assert rec.edges["user:11", "user:12"]["kind"] == "creation"
    assert rec.edges["user:12", "user:13"]["kind"] == "link"
    assert rec.edges["user:12", "user:13"]["inferred"] is True
    assert rec.has_edge("name:Nobody Known", "user:14")
    assert rec.nodes["user:11"]["tg_id"] == 11

    g = chat_graph(case)
    home = "chat:1500000001"
    assert g.edges[home, "tme:geng_backup"]["kind"] == "backup"
    assert g.edges[home, "tme:geng_backup"]["button"] is True
    assert g.edges[home, "chat:1777000001"]["kind"] == "link"
    assert g.edges["chat:1888000002", home]["kind"] == "forward"
    assert g.edges["chat:1888000002", home]["count"] == 2
    assert g.has_edge("name:Someone Hidden", home)

    back = _roundtrip(rec, tmp_path)
    assert back.nodes["user:11"]["label"] == "<script>alert(1)</script>\u202e Admin"
    text = (tmp_path / "g.graphml").read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_network_cli(tmp_path):
    write_export(tmp_path / "export", [msg(1, "backup t.me/+AbCdEf123456")])
    case_dir = str(tmp_path / "case")
    Case.open(case_dir)
    ingest(Case.open(case_dir), tmp_path / "export")
    triage(Case.open(case_dir), workers=1, only="text")
    out = run_cli("network", case_dir, "--kind", "chats", "-o", str(tmp_path / "c.gexf"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"path": str(tmp_path / "c.gexf"), "nodes": 2, "edges": 1}
    assert nx.read_gexf(tmp_path / "c.gexf").number_of_edges() == 1
    bad = run_cli("network", case_dir, "--kind", "chats", "-o", str(tmp_path / "c.png"))
    assert bad.returncode == 2 and "graphml" in bad.stderr
    with pytest.raises(BadInput):
        write_graph(nx.DiGraph(), tmp_path / "x.csv")


@pytest.mark.parametrize(
    "name",
    [
        "03_vu_pakistan_public_channel_2020-11_legacy_numeric_ids.json",
        "04_ragtgbot_private_group_2025-03_ru.json",
        "05_salaf_public_channel_2025-11_2026-07_ar_en.json",
        "08_trantor_public_channel_2023-2025_zh_reactions_poll.json",
    ],
)
def test_networks_on_real_exports(corpus, tmp_path, name):
    case = Case.open(tmp_path / "case")
    ingest(case, corpus / name, timezone="UTC")
    triage(case, workers=1, only="text")
    doc = json.loads((corpus / name).read_text(encoding="utf-8"))
    chats = chat_graph(case)
    forwards = [x for x in doc["messages"] if x.get("forwarded_from") or x.get("forwarded_from_id")]
    if forwards:
        assert sum(d["count"] for _, _, d in chats.edges(data=True) if d["kind"] == "forward")
    rec = recruitment_graph(case)
    if any(x.get("action") == "create_group" for x in doc["messages"]):
        assert any(d["kind"] == "creation" for _, _, d in rec.edges(data=True))
    _roundtrip(chats, tmp_path)
    _roundtrip(rec, tmp_path)
