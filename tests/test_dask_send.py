"""`--dask-files send` on a 2-worker LocalCluster: the client sends each batch's encrypted blobs,
workers run the stages against a private temporary vault and never open the case folder; the
results are the local executor's, and the temporary folders are gone afterwards."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import test_dask
from sqlalchemy import select
from test_dask import _case, _media_ids, snapshot

from perisai.pipeline import triage
from perisai.stages.hashing import HashStage
from perisai.store import models as m

export, client = test_dask.export, test_dask.client  # the same fixtures (this module's own)

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
cloudpickle.register_pickle_by_value(sys.modules[__name__])

from perisai.executors import dask as executor  # noqa: E402
from perisai.executors.dask import LEDGER, SEND_PREFIX, run_stages  # noqa: E402

MF = m.MEDIA_FILES
AUDITED = ("open", "os.listdir", "os.scandir", "os.mkdir", "os.remove", "os.rename")


class OpenAudit(distributed.WorkerPlugin):
    """Records, in each worker process, the paths it opens or lists under `watch` (the test's
    folder, which holds the cases) or inside a `send` mode temporary vault."""

    name = "open-audit"

    def __init__(self, watch: str) -> None:
        self.watch = watch
        self.opened: list[str] = []
        self.active = False

    def setup(self, worker) -> None:
        self.active = True

        def hook(event, args):
            if not self.active or event not in AUDITED or not args:
                return
            if isinstance(args[0], str | os.PathLike):
                path = os.fspath(args[0])
                if isinstance(path, str) and (self.watch in path or SEND_PREFIX in path):
                    self.opened.append(path)

        sys.addaudithook(hook)  # cannot be removed: `active` turns it off at teardown

    def teardown(self, worker) -> None:
        self.active = False


def _opened(client) -> list[str]:
    per_worker = client.run(lambda dask_worker: list(dask_worker.plugins["open-audit"].opened))
    return [p for paths in per_worker.values() for p in paths]


def _leftovers(client) -> list[str]:
    """`send` mode folders still on any worker (in its scratch folder or the system temp)."""

    def look(dask_worker):
        import glob
        import tempfile

        places = (dask_worker.local_directory, tempfile.gettempdir())
        return [p for d in places for p in glob.glob(os.path.join(d, SEND_PREFIX + "*"))]

    return [p for paths in client.run(look).values() for p in paths]


def test_send_mode_equals_local_and_workers_never_open_the_case(
    tmp_path, export, client, monkeypatch
):
    local = _case(tmp_path, "local", export, monkeypatch)
    remote = _case(tmp_path, "remote", export, monkeypatch)
    shared = _case(tmp_path, "shared", export, monkeypatch)
    client.register_plugin(OpenAudit(str(tmp_path)))
    try:
        # The audit sees a worker that reads the case vault: shared mode does.
        triage(shared, dask=client, dask_files="shared", only="hash")
        assert any(p.startswith(str(shared.root)) for p in _opened(client))
        a = triage(local, workers=1)
        b = triage(remote, dask=client, dask_files="send")
        opened = _opened(client)
    finally:
        client.unregister_worker_plugin("open-audit")
    assert b["stages"]["hash"]["items"] == a["stages"]["hash"]["items"] > 10
    for name in a["stages"]:
        assert b["stages"][name]["found"] == a["stages"][name]["found"], name
    sa, sb = snapshot(local), snapshot(remote)
    assert sa["media_analysis"] and sa["findings"] and sa["previews"]
    assert sa == sb
    # Workers never touched the remote case; they did read the temporary vaults.
    assert [p for p in opened if p.startswith(str(remote.root))] == []
    assert any(SEND_PREFIX in p for p in opened)
    assert _leftovers(client) == []
    # Previews made on the workers came back into the client's vault, intact.
    for row in sb["previews"]:
        remote.vault.check(row["sha256"])


class Fails(HashStage):
    """Raises on the marked file, after the batch's blobs were written on the worker."""

    batch_size = 4
    marked: int = 0

    def process(self, items):
        if any(i[0] == self.marked for i in items):
            assert any(Path(self.vault_root).glob("??/*")), "no temporary vault"
            raise RuntimeError("stage failed")
        return super().process(items)


def test_temporary_vault_is_removed_when_a_batch_fails(tmp_path, export, client, monkeypatch):
    case = _case(tmp_path, "case", export, monkeypatch)
    stage = Fails(case.vault.root, case.keys.purpose("vault"))
    stage.marked = _media_ids(case)[-1]  # the last batch: no other task runs after it fails
    with pytest.raises(RuntimeError, match="stage failed"):
        run_stages(case, [stage], client, batch=4, files="send")
    assert _leftovers(client) == []


def test_blob_missing_on_the_client_is_recorded_as_locally(tmp_path, export, client, monkeypatch):
    local = _case(tmp_path, "local", export, monkeypatch)
    remote = _case(tmp_path, "remote", export, monkeypatch)
    ids = _media_ids(remote)
    with remote.engine.connect() as conn:
        image = conn.execute(
            select(MF.c.id, MF.c.sha256)
            .where(MF.c.mime.like("image/%"), MF.c.vault_state == "stored")
            .order_by(MF.c.id)
        ).first()
    assert image is not None
    for case in (local, remote):
        case.vault.remove(image.sha256)
    monkeypatch.setenv("PERISAI_DASK_FILES", "send")  # the setting from the environment
    monkeypatch.setattr(executor, "SEND_BYTES", 1)  # every file its own task and watermark
    triage(local, workers=1, only="hash")
    out = triage(remote, dask=client, only="hash")
    assert out["stages"]["hash"]["items"] == len(ids)
    rows = {r["media_id"]: r for r in snapshot(remote)["media_analysis"]}
    assert rows[image.id]["status"] == "rejected"
    assert rows[image.id]["reason"] == f"vault: vault blob {image.sha256} is missing"
    assert snapshot(remote)["media_analysis"] == snapshot(local)["media_analysis"]
    ledger = json.loads((remote.root / LEDGER).read_text())
    assert ledger["hash"]["batches"] == len(ids)  # one parcel per file, each stored in order
    assert triage(remote, dask=client, only="hash")["stages"]["hash"]["items"] == 0


def test_cli_rejects_an_unknown_files_mode(tmp_path, export, client, monkeypatch):
    from helpers import run_cli

    _case(tmp_path, "case", export, monkeypatch)
    address = client.scheduler.address
    res = run_cli("triage", str(tmp_path / "case"), "--dask", address, "--dask-files", "nfs")
    assert res.returncode == 2
    assert "--dask-files must be shared or send" in res.stderr + res.stdout
