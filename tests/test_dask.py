"""The Dask executor on a 2-worker LocalCluster: the same results as the local executor, a
worker killed mid-run loses and duplicates nothing, a poison file is rejected, not fatal."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from perisai.case import Case
from perisai.errors import BadInput
from perisai.ingest.telegram_export import ingest
from perisai.pipeline import all_stages, triage
from perisai.stages.hashing import HashStage
from perisai.store import models as m

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
# The crafted stages below live in this test module, which workers cannot import: send by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

from perisai.executors.dask import LEDGER, run_stages  # noqa: E402

TABLES = {
    "findings": m.FINDINGS,
    "media_analysis": m.MEDIA_ANALYSIS,
    "cluster_members": m.CLUSTER_MEMBERS,
    "previews": m.PREVIEWS,
    "annotations": m.ANNOTATIONS,
}


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    from perisai.synth import synth

    out = tmp_path_factory.mktemp("synth") / "export"
    synth(out, messages=80, photos=14, seed=5)
    return out


@pytest.fixture(scope="module")
def client():
    import dask

    # One retry after a worker death; a second death makes the task fail with KilledWorker.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        c = distributed.Client(cluster)
        try:
            yield c
        finally:
            c.close()
            cluster.close()


def _case(tmp_path: Path, name: str, export: Path, monkeypatch) -> Case:
    monkeypatch.setenv("PERISAI_PASSPHRASE", "correct horse battery staple")
    case = Case.open(tmp_path / name)
    ingest(case, export)
    return case


def snapshot(case: Case) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    with case.engine.connect() as conn:
        for name, table in TABLES.items():
            rows = []
            for r in conn.execute(select(table)).mappings():
                rows.append({k: v for k, v in r.items() if not str(k).endswith("_utc")})
            out[name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return out


class KillOnce(HashStage):
    """Kills its own worker process the first time it meets the marked file."""

    batch_size = 4
    marked: int = 0
    flag: str = ""

    def process(self, items):
        if any(i[0] == self.marked for i in items) and not os.path.exists(self.flag):
            Path(self.flag).write_text("killed")
            os._exit(1)
        return super().process(items)


class Poison(HashStage):
    """A file that kills every worker that touches it."""

    batch_size = 4
    marked: int = 0

    def process(self, items):
        if any(i[0] == self.marked for i in items):
            os._exit(1)
        return super().process(items)


def _media_ids(case: Case) -> list[int]:
    with case.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(m.MEDIA_FILES.c.id).order_by("id"))]


def test_dask_results_equal_the_local_executor(tmp_path, export, client, monkeypatch):
    local = _case(tmp_path, "local", export, monkeypatch)
    remote = _case(tmp_path, "remote", export, monkeypatch)
    a = triage(local, workers=1)
    b = triage(remote, dask=client)
    assert b["stages"]["hash"]["items"] == a["stages"]["hash"]["items"] > 10
    assert b["stages"]["text"]["items"] == 80
    for name in a["stages"]:
        assert b["stages"][name]["found"] == a["stages"][name]["found"], name
    sa, sb = snapshot(local), snapshot(remote)
    assert sa["media_analysis"] and sa["findings"] and sa["cluster_members"]
    assert sa == sb
    # A second Dask run finds nothing pending.
    again = triage(remote, dask=client)
    assert all(s["items"] == 0 for s in again["stages"].values())
    assert snapshot(remote) == sb
    events = [
        json.loads(r.body) if isinstance(r.body, str) else r.body
        for r in remote.engine.connect().execute(select(m.CUSTODY))
        if r.action == "triage"
    ]
    assert any(e.get("executor") == "dask" and e["stage"] == "hash" for e in events)


def test_workers_run_without_dasks_sampling_profiler(tmp_path, export, client, monkeypatch):
    """Dask samples each task's stack every 10 ms, which made GIL-releasing stages (regions)
    about 30% slower on a worker than in-process (docs/scale.md): perisai's plugin stops it."""
    triage(_case(tmp_path, "c", export, monkeypatch), dask=client, only="hash")
    callbacks = client.run(lambda dask_worker: sorted(dask_worker.periodic_callbacks))
    assert len(callbacks) == 2
    for names in callbacks.values():
        assert "heartbeat" in names  # the worker's other periodic work is untouched
        assert "profile" not in names and "profile-cycle" not in names


def test_worker_killed_mid_run_loses_and_duplicates_nothing(tmp_path, export, client, monkeypatch):
    local = _case(tmp_path, "local", export, monkeypatch)
    remote = _case(tmp_path, "remote", export, monkeypatch)
    triage(local, workers=1, only="hash")
    ids = _media_ids(remote)
    stage = KillOnce(remote.vault.root, remote.keys.purpose("vault"))
    stage.marked, stage.flag = ids[len(ids) // 2], str(tmp_path / "killed.flag")
    before = set(client.scheduler_info()["workers"])
    out = run_stages(remote, [stage], client, batch=4)
    assert (tmp_path / "killed.flag").exists(), "the worker was never killed"
    assert out["hash"]["items"] == len(ids) and out["hash"]["rejected"] == []
    client.wait_for_workers(2, timeout=30)
    assert set(client.scheduler_info()["workers"]) != before  # a new worker replaced it
    sa, sb = snapshot(local)["media_analysis"], snapshot(remote)["media_analysis"]
    assert len(sb) == len(ids) == len({r["media_id"] for r in sb})
    assert sa == sb


def test_poison_file_is_rejected_and_the_run_completes(tmp_path, export, client, monkeypatch):
    local = _case(tmp_path, "local", export, monkeypatch)
    remote = _case(tmp_path, "remote", export, monkeypatch)
    triage(local, workers=1, only="hash")
    ids = _media_ids(remote)
    stage = Poison(remote.vault.root, remote.keys.purpose("vault"))
    stage.marked = ids[3]
    out = run_stages(remote, [stage], client, batch=4)
    assert out["hash"]["rejected"] == [ids[3]]
    assert out["hash"]["found"]["dask.rejected"] == 1
    rows = {r["media_id"]: r for r in snapshot(remote)["media_analysis"]}
    assert len(rows) == len(ids)
    assert rows[ids[3]]["status"] == "rejected"
    assert "killed its Dask worker" in rows[ids[3]]["reason"]
    expected = {r["media_id"]: r for r in snapshot(local)["media_analysis"]}
    for media_id in ids:
        if media_id != ids[3]:
            assert {k: v for k, v in rows[media_id].items() if k != "id"} == {
                k: v for k, v in expected[media_id].items() if k != "id"
            }
    ledger = json.loads((remote.root / LEDGER).read_text())
    assert ledger["hash"]["rejected"] == {str(ids[3]): "killed its Dask worker on every try"}
    client.wait_for_workers(2, timeout=30)


def test_a_file_sharing_a_dying_worker_with_a_poison_one_is_not_rejected(
    tmp_path, export, monkeypatch
):
    """Dask blames every task a dying worker was processing; on one worker the innocent
    batch beside the poison one was blamed too, and bisected down to a rejected innocent file
    (seen in CI). A single file is rejected only when it kills a worker on its own."""
    import dask

    case = _case(tmp_path, "remote", export, monkeypatch)
    ids = _media_ids(case)
    stage = Poison(case.vault.root, case.keys.purpose("vault"))
    stage.marked = ids[3]
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        with cluster, distributed.Client(cluster) as one:
            out = run_stages(case, [stage], one, batch=4, in_flight=8)
    assert out["hash"]["rejected"] == [ids[3]]
    assert out["hash"]["items"] == len(ids)


def test_ledger_keeps_a_rejected_item_from_being_sent_again(tmp_path, export, client, monkeypatch):
    """After a restart the ledger's rejected items are answered locally, never sent."""
    case = _case(tmp_path, "case", export, monkeypatch)
    ids = _media_ids(case)
    (case.root / LEDGER).write_text(
        json.dumps({"hash": {"version": 1, "batches": 0, "watermark": 0, "rejected": {}}})
    )
    ledger = json.loads((case.root / LEDGER).read_text())
    ledger["hash"]["rejected"][str(ids[0])] = "killed its Dask worker on every try"
    (case.root / LEDGER).write_text(json.dumps(ledger))
    stage = Poison(case.vault.root, case.keys.purpose("vault"))
    stage.marked = ids[0]  # would kill a worker if it were sent
    out = run_stages(case, [stage], client, batch=4)
    assert out["hash"]["rejected"] == []  # nothing new was rejected: it was never sent
    rows = {r["media_id"]: r for r in snapshot(case)["media_analysis"]}
    assert rows[ids[0]]["status"] == "rejected" and len(rows) == len(ids)


def test_unreachable_scheduler_is_a_clear_error(tmp_path, export, monkeypatch):
    case = _case(tmp_path, "case", export, monkeypatch)
    monkeypatch.setenv("PERISAI_DASK", "tcp://127.0.0.1:9")
    with pytest.raises(BadInput, match="cannot reach the Dask scheduler"):
        triage(case, only="hash")


def test_missing_dask_names_the_extra(tmp_path, export, monkeypatch):
    case = _case(tmp_path, "case", export, monkeypatch)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(BadInput, match=r"pip install 'perisai\[scale\]'"):
        triage(case, only="hash", dask="tcp://127.0.0.1:8786")
    assert all_stages(case)


class Interrupted(HashStage):
    """Stands for a run cut short (the scheduler or the client gone) at the marked file."""

    batch_size = 4
    marked: int = 0

    def process(self, items):
        if any(i[0] == self.marked for i in items):
            raise RuntimeError("cluster gone")
        return super().process(items)


def test_an_interrupted_run_resumes_after_the_last_stored_batch(
    tmp_path, export, client, monkeypatch
):
    local = _case(tmp_path, "local", export, monkeypatch)
    remote = _case(tmp_path, "remote", export, monkeypatch)
    triage(local, workers=1, only="hash")
    ids = _media_ids(remote)
    stage = Interrupted(remote.vault.root, remote.keys.purpose("vault"))
    stage.marked = ids[9]
    with pytest.raises(RuntimeError, match="cluster gone"):
        run_stages(remote, [stage], client, batch=4)
    stored = {r["media_id"] for r in snapshot(remote)["media_analysis"]}
    assert stored == set(ids[:8])  # two whole batches, in key order, nothing after them
    ledger = json.loads((remote.root / LEDGER).read_text())
    assert ledger["hash"]["batches"] == 2 and ledger["hash"]["watermark"] == ids[7]
    out = run_stages(remote, [HashStage(remote.vault.root, remote.keys.purpose("vault"))], client)
    assert out["hash"]["items"] == len(ids) - 8
    assert snapshot(remote)["media_analysis"] == snapshot(local)["media_analysis"]


def test_cli_triage_on_a_scheduler_address(tmp_path, export, client, monkeypatch):
    from helpers import run_cli

    local = _case(tmp_path, "local", export, monkeypatch)
    _case(tmp_path, "remote", export, monkeypatch)
    triage(local, workers=1)
    address = client.scheduler.address
    res = run_cli("triage", str(tmp_path / "remote"), "--dask", address, "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["stages"]["hash"]["rejected"] == []
    assert snapshot(Case.open(tmp_path / "remote", create=False)) == snapshot(local)
    env = {"PERISAI_DASK": address}
    again = run_cli("triage", str(tmp_path / "remote"), "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert all(s["items"] == 0 for s in json.loads(again.stdout)["stages"].values())


class Slow(HashStage):
    """Takes its time on the marked file, so the scheduler can be shut down under it."""

    batch_size = 4
    marked: int = 0

    def process(self, items):
        if any(i[0] == self.marked for i in items):
            time.sleep(6)
        return super().process(items)


def test_scheduler_dying_mid_run_keeps_what_was_stored_and_a_rerun_resumes(
    tmp_path, export, client, monkeypatch
):
    from perisai.executors.dask import ClusterLost

    local = _case(tmp_path, "local", export, monkeypatch)
    remote = _case(tmp_path, "remote", export, monkeypatch)
    triage(local, workers=1, only="hash")
    ids = _media_ids(remote)
    stage = Slow(remote.vault.root, remote.keys.purpose("vault"))
    stage.marked = ids[9]
    doomed = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    doomed_client = distributed.Client(doomed)
    closing: list[threading.Thread] = []

    def progress(name, done, total):  # after each stored batch: shut down after the second
        if done == 8 and not closing:
            closing.append(
                threading.Thread(target=doomed_client.sync, args=(doomed.scheduler.close,))
            )
            closing[0].start()

    try:
        with pytest.raises(ClusterLost, match="run triage again to resume"):
            run_stages(remote, [stage], doomed_client, progress=progress, batch=4)
    finally:
        for t in closing:
            t.join(30)
        doomed_client.close()
        doomed.close()
    stored = {r["media_id"] for r in snapshot(remote)["media_analysis"]}
    assert stored == set(ids[:8])  # the two batches before the slow one, nothing else
    out = run_stages(remote, [HashStage(remote.vault.root, remote.keys.purpose("vault"))], client)
    assert out["hash"]["items"] == len(ids) - 8
    assert snapshot(remote)["media_analysis"] == snapshot(local)["media_analysis"]
