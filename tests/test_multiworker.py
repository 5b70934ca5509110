"""`cancer-course train --strategy multiworker`: two worker processes on 127.0.0.1, the standard TF_CONFIG."""

import csv
import json
import math
import os
import socket
import subprocess
import sys

import pytest
from train_cli import TINY, TRAIN

from cancer_course import distribute
from cancer_course.inference import load_course_model


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _cluster(tmp_path, tiny_root, *args, prelude=""):
    """Run the same train command on two workers; return their CompletedProcess-like results."""
    ports = _free_ports(2)
    workers = [f"127.0.0.1:{p}" for p in ports]
    procs = []
    for index in range(2):
        scratch = tmp_path / f"tmp{index}"
        scratch.mkdir(exist_ok=True)
        env = dict(os.environ, TMPDIR=str(scratch), TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [sys.executable, "-c", prelude + TRAIN, "train", "--profile", "smoke", "--dataset-path", str(tiny_root),
             "--batch-size", "8", "--strategy", "multiworker", "--results-dir", str(tmp_path / "results"),
             "--save-path", str(tmp_path / "model.keras"), *map(str, args)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=240)
            outs.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for code, out, err in outs:
        assert code == 0, out[-2000:] + err[-3000:]
    return outs


def _check_run(tmp_path, outs, epochs):
    (_, chief_out, _), (_, worker_out, _) = outs
    assert "MultiWorkerMirroredStrategy: 2 replicas, global batch 16 (8 per replica on 2 workers)" in chief_out
    assert f"Best model: {tmp_path / 'model.keras'}" in chief_out
    assert "Worker done" in worker_out and "Best model" not in worker_out
    run = json.loads((tmp_path / "results" / "logs" / "run.json").read_text())
    assert run["chief"] is True and run["workers"] == 2 and run["replicas"] == 2  # written by the chief only
    assert run["per_replica_batch"] == 8 and run["global_batch"] == 16
    assert run["steps_per_epoch"] == math.ceil(run["train_images"] / 16)  # 16 images per step, not 8
    assert not list((tmp_path / "tmp1").iterdir())  # the worker's temporary folder is gone
    rows = list(csv.DictReader(open(tmp_path / "results" / "logs" / "training_log.csv")))
    assert [int(r["epoch"]) for r in rows] == list(range(epochs))
    assert load_course_model(tmp_path / "model.keras").output_shape == (None, 2)  # safe_mode=True


def test_two_workers_train_resume_and_only_the_chief_writes(tiny_root, tmp_path):
    """The smoke profile's settings and data with a small model (see TINY); the full smoke model's
    graph costs ~2 minutes per run on a busy 2-core machine, and multi-worker training needs the graph."""
    _check_run(tmp_path, _cluster(tmp_path, tiny_root, "--epochs", "1", prelude=TINY), epochs=1)
    outs = _cluster(tmp_path, tiny_root, "--epochs", "2", "--resume", prelude=TINY)
    assert all("Resuming from epoch 1 of 2" in out for _, out, _ in outs)  # the worker read the chief's files
    _check_run(tmp_path, outs, epochs=2)


def test_tf_config_errors_say_what_to_do():
    with pytest.raises(ValueError, match="needs the TF_CONFIG environment variable"):
        distribute.read_tf_config({})
    with pytest.raises(ValueError, match="not valid JSON"):
        distribute.read_tf_config({"TF_CONFIG": "{cluster"})
    with pytest.raises(ValueError, match="is not in its cluster"):
        distribute.read_tf_config({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]},
                                                            "task": {"type": "worker", "index": 1}})})
    two = {"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}
    assert distribute.is_chief(distribute.read_tf_config({"TF_CONFIG": json.dumps(two)}))
    assert not distribute.is_chief({**two, "task": {"type": "worker", "index": 1}})
    with_chief = {"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}
    assert not distribute.is_chief(with_chief) and distribute.n_workers(with_chief) == 2


def test_multiworker_needs_a_dataset_folder_every_worker_reads(capsys):
    from cancer_course.cli import main

    assert main(["train", "--strategy", "multiworker", "--profile", "smoke"]) == 2
    assert "--strategy multiworker needs --dataset-path" in capsys.readouterr().err
