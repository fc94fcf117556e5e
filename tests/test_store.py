"""Store: migrations match the models; service events, links and names are recorded."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from perisai.case import Case
from perisai.ingest.telegram_export import ingest
from perisai.store import models as m
from perisai.store.db import make_engine, migrate

from helpers import msg, write_export


def test_migrations_produce_exactly_the_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    assert diff == [], "models changed without a migration: add one under store/migrations"


def _service(i, action, **fields):
    base = {
        "id": i,
        "type": "service",
        "date": "2020-09-14T21:00:00",
        "date_unixtime": str(1600088400 + i),
        "actor": "Admin Satu",
        "actor_id": "user500",
        "action": action,
        "text": "",
    }
    base.update(fields)
    return base


def test_service_events_links_and_names(tmp_path):
    case = Case.open(tmp_path / "case")
    events = [
        _service(1, "create_group", title="V2K", members=["Admin Satu", "Ali"]),
        _service(2, "invite_members", members=["Budi", None]),
        _service(3, "join_group_by_link", inviter="Admin Satu"),
        _service(4, "remove_members", members=["Ali"]),
        _service(5, "pin_message", message_id=7),
        _service(6, "edit_group_title", title="V2K backup"),
        _service(7, "migrate_to_supergroup"),
        _service(8, "set_messages_ttl", period=86400),
        msg(9, via_bot="@PicBot", text=["see ", {"type": "link", "text": "https://t.me/+AbC"}]),
        msg(10, **{"from": "Sender Renamed"}),
    ]
    ingest(case, write_export(tmp_path / "e", events, id=1234567890))
    with case.engine.connect() as conn:
        rows = conn.execute(select(m.SERVICE_EVENTS)).mappings().all()
        msgs = {r.message_id: r for r in conn.execute(select(m.MESSAGES)).mappings()}
        names = conn.execute(
            select(m.ACTORS.c.key, m.ACTOR_NAMES.c.name_kind, m.ACTOR_NAMES.c.value).join(
                m.ACTOR_NAMES, m.ACTOR_NAMES.c.actor_id == m.ACTORS.c.id
            )
        ).all()
    by_action = {r["action"]: r["detail"] for r in rows}
    assert by_action["create_group"]["members"] == ["Admin Satu", "Ali"]
    assert by_action["invite_members"]["members"] == ["Budi", None]
    assert by_action["join_group_by_link"]["inviter"] == "Admin Satu"
    assert by_action["pin_message"]["message_id"] == 7
    assert by_action["edit_group_title"]["title"] == "V2K backup"
    assert by_action["set_messages_ttl"]["period"] == 86400
    assert "migrate_to_supergroup" in by_action and "remove_members" in by_action
    assert msgs[9]["link"] == "https://t.me/c/1234567890/9"
    assert msgs[9]["via_bot"] == "@PicBot"
    assert msgs[9]["entities"][0]["type"] == "link" and msgs[9]["entities"][0]["offset"] == 4
    assert ("bot:@picbot", "username", "picbot") in names
    assert ("user:1001", "display_name", "Sender A") in names
    assert ("user:1001", "display_name", "Sender Renamed") in names


def test_basic_groups_have_no_links(tmp_path):
    case = Case.open(tmp_path / "case")
    ingest(case, write_export(tmp_path / "e", [msg(1)], type="private_group", id=42))
    with case.engine.connect() as conn:
        assert conn.execute(select(m.MESSAGES.c.link)).scalar() is None
