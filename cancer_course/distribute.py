"""Training on several machines: ``tf.distribute.MultiWorkerMirroredStrategy`` and ``TF_CONFIG``.

Every machine (a *worker*) runs the same ``cancer-course train --strategy multiworker`` command
with its own ``TF_CONFIG`` environment variable, the standard TensorFlow cluster description::

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'

Each worker keeps a full copy of the model and trains on its share of every global batch; the
gradients are averaged across workers after every step (all-reduce), so the copies stay equal.
The *chief* (the task of type ``chief``, else worker 0) is the one that writes: the checkpoints,
the CSV log, the plots and the final model go to the paths given; every other worker saves to a
temporary folder of its own (saving has to run on every worker, because reading some variables
is itself a collective step), which is deleted at the end.

The global batch is ``--batch-size`` (per replica) times the number of replicas in sync (workers
times devices per worker). Research and education only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

STRATEGIES = ("default", "mirrored", "multiworker")  # train --strategy: one device, the GPUs of one machine, several machines
TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


def read_tf_config(environ=None) -> dict:
    """The ``TF_CONFIG`` of this worker, checked: a cluster with workers, and this task in it."""
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG")
    if not raw:
        raise ValueError("--strategy multiworker needs the TF_CONFIG environment variable on every worker, e.g. "
                         f"TF_CONFIG='{TF_CONFIG_EXAMPLE}' (the same cluster everywhere, each worker its own index)")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"TF_CONFIG is not valid JSON ({exc}): it should look like {TF_CONFIG_EXAMPLE}") from None
    cluster, task = config.get("cluster") or {}, config.get("task") or {}
    kind, index = task.get("type"), task.get("index")
    if not cluster.get("worker") and not cluster.get("chief"):
        raise ValueError(f"TF_CONFIG has no cluster.worker list of host:port addresses: {raw}")
    if kind not in cluster or not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
        raise ValueError(f"TF_CONFIG's task {task} is not in its cluster {cluster}: give task.type "
                         f"({' or '.join(cluster)}) and an index below the number of addresses of that type")
    return config


def is_chief(config: dict) -> bool:
    """The chief writes: the task of type ``chief``, or worker 0 when the cluster has no chief."""
    task = config["task"]
    if task["type"] == "chief":
        return True
    return task["type"] == "worker" and task["index"] == 0 and "chief" not in config["cluster"]


def n_workers(config: dict) -> int:
    return len(config["cluster"].get("chief", [])) + len(config["cluster"].get("worker", []))


def strategy():
    """``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``: create it before any other TensorFlow work."""
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy()


class WriteTarget:
    """Where this worker writes: the paths given on the chief, a temporary folder elsewhere.

    ``target.path(p)`` maps a path; ``target.cleanup()`` deletes a worker's temporary folder.
    """

    def __init__(self, chief: bool, task: str = "worker"):
        self.chief = chief
        self.tmp = None if chief else Path(tempfile.mkdtemp(prefix=f"cancer-course-{task}-"))

    def path(self, path) -> Path:
        path = Path(path)
        return path if self.chief else self.tmp / path.name

    def cleanup(self) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def shard_by_data(dataset):
    """Each worker takes its share of every batch (the datasets are in-memory lists of files, not file shards)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


@contextlib.contextmanager
def keras_multiworker_fixes():
    """While inside, Keras 3's ``fit`` works under MultiWorkerMirroredStrategy; the patched functions come back after.

    Keras 3 (3.7 to at least 3.15) cannot train under MultiWorkerMirroredStrategy as it ships
    (keras-team/keras#20585, tensorflow/tensorflow#72388), for two reasons in its TensorFlow
    trainer, both fixed here for the duration of the block:

    - before training it builds the model from one batch *averaged over every replica*
      (``strategy.reduce`` on a ``PerReplica`` batch), which this strategy cannot do eagerly
      ("Attempt to convert a value (PerReplica ...) to a Tensor"): the build only needs shapes,
      so it is given this worker's own share of the batch;
    - it averages each step's loss and metrics over the workers with
      ``strategy.reduce("MEAN", value, axis=0)``, and they are scalars ("Invalid reduction
      dimension 0 for input with 0 dimensions"): a scalar is averaged with ``axis=None``.
    """
    import tensorflow as tf
    from keras import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_reduce = tf_trainer.reduce_per_replica
    original_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None if len(v.shape) == 0 else 0), values)
        return original_reduce(values, strategy, reduction)

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self.distribute_strategy

        def local(value):
            if isinstance(value, tf.distribute.DistributedValues):
                return strategy.experimental_local_results(value)[0]
            return value

        if iterator is not None and self._distribute_strategy is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(local, next(batches))
                break
            iterator = None
        return original_build(self, iterator=iterator, data_batch=data_batch)

    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original_reduce
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build = original_build
