"""cancer_course.datasets: fetching BreastMNIST and PatchCamelyon, on small files the tests make.

Nothing here touches the network: files are served from ``file://`` URLs or from an HTTP server
on 127.0.0.1 in a thread.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cancer_course import datasets
from cancer_course.pipeline import load_splits


# ----------------------------------------------------------------------------- helpers
def make_breastmnist(path: Path) -> tuple[Path, dict]:
    """A tiny MedMNIST-format BreastMNIST .npz; image i of a split is filled with 10 * i + 5 * label."""
    rng = np.random.default_rng(0)
    arrays, labels = {}, {}
    for key, n in (("train", 8), ("val", 4), ("test", 4)):
        y = np.array([0, 1] * (n // 2), dtype=np.uint8)
        rng.shuffle(y)
        images = np.stack([np.full((28, 28), 10 * i + 5 * int(lab), np.uint8) for i, lab in enumerate(y)])
        arrays[f"{key}_images"], arrays[f"{key}_labels"] = images, y.reshape(-1, 1)  # MedMNIST: (N, 1)
        labels[key] = y
    np.savez_compressed(path, **arrays)
    return path, labels


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def no_partial_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".part")]


class Server:
    """A threaded HTTP server on 127.0.0.1 serving `folder`, with two special paths."""

    def __init__(self, folder: Path):
        folder = str(folder)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k):
                super().__init__(*a, directory=folder, **k)

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path.startswith("/truncated"):  # announces 100,000 bytes, sends 10, hangs up
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    self.wfile.write(b"0123456789")
                    self.wfile.flush()
                    self.close_connection = True
                    return
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    with Server(folder) as server:
        yield folder, server.url


# ----------------------------------------------------------------------------- download()
def test_download_over_http_checks_md5_and_renames(served, tmp_path):
    folder, url = served
    (folder / "file.bin").write_bytes(b"x" * 3_000_000)
    dest = tmp_path / "out" / "file.bin"
    got = datasets.download(url + "file.bin", dest, md5=md5(folder / "file.bin"), size=3_000_000, progress=False)
    assert got == dest and dest.read_bytes() == b"x" * 3_000_000
    assert no_partial_files(tmp_path / "out")


def test_download_skips_a_file_already_there_with_the_right_md5(tmp_path):
    dest = tmp_path / "file.bin"
    dest.write_bytes(b"hello")
    # the URL cannot be reached: nothing is downloaded because the file is already there
    assert datasets.download("http://127.0.0.1:9/nothing", dest, md5=md5(dest), progress=False) == dest


def test_wrong_md5_leaves_no_file(served, tmp_path):
    folder, url = served
    (folder / "file.bin").write_bytes(b"data")
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(datasets.DownloadError, match="MD5"):
        datasets.download(url + "file.bin", dest, md5="0" * 32, progress=False)
    assert not dest.exists() and no_partial_files(tmp_path / "out")


def test_http_error_names_the_url_and_leaves_no_file(served, tmp_path):
    _, url = served
    dest = tmp_path / "out" / "missing.npz"
    with pytest.raises(datasets.DownloadError, match=r"missing\.npz.*HTTP 404"):
        datasets.download(url + "missing.npz", dest, progress=False)
    assert not dest.exists() and no_partial_files(tmp_path / "out")


def test_offline_error_names_the_url(tmp_path):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/breastmnist.npz"
    dest = tmp_path / "breastmnist.npz"
    with pytest.raises(datasets.DownloadError, match=f"Could not download {url}.*online"):
        datasets.download(url, dest, progress=False, timeout=5)
    assert not dest.exists() and no_partial_files(tmp_path)


def test_truncated_download_leaves_no_partial_file(served, tmp_path):
    _, url = served
    dest = tmp_path / "out" / "big.h5.gz"
    with pytest.raises(datasets.DownloadError, match="truncated|stopped after|IncompleteRead|failed"):
        datasets.download(url + "truncated", dest, progress=False, timeout=10)
    assert not dest.exists() and no_partial_files(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    class Response:
        headers = {"Content-Length": "20"}

        def __init__(self):
            self.calls = 0

        def read(self, n):
            self.calls += 1
            if self.calls > 1:
                raise KeyboardInterrupt  # the learner pressed Ctrl+C (or Colab stopped the cell)
            return b"0123456789"

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Response())
    dest = tmp_path / "breastmnist.npz"
    with pytest.raises(KeyboardInterrupt):
        datasets.download("https://example.invalid/breastmnist.npz", dest, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_gunzip_round_trip(tmp_path):
    src = tmp_path / "a.gz"
    src.write_bytes(gzip.compress(b"abc" * 1000))
    assert datasets.gunzip(src, tmp_path / "a").read_bytes() == b"abc" * 1000
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="could not be unpacked"):
        datasets.gunzip(tmp_path / "bad.gz", tmp_path / "bad")
    assert not (tmp_path / "bad").exists() and no_partial_files(tmp_path)


# ----------------------------------------------------------------------------- BreastMNIST
def check_breastmnist_layout(root: Path, labels: dict) -> None:
    splits = load_splits(root, image_size=32, verbose=False)
    for key, split in (("train", "train"), ("val", "validation"), ("test", "test")):
        y = labels[key]
        # BreastMNIST: label 0 is malignant
        assert splits.counts[split] == {"benign": int((y == 1).sum()), "malignant": int((y == 0).sum())}
        for i, lab in enumerate(y):
            cls = "malignant" if lab == 0 else "benign"
            image = np.asarray(Image.open(root / split / cls / f"{key}_{i:05d}.png"))
            assert image.shape == (28, 28) and image[0, 0] == 10 * i + 5 * int(lab)
    images, y = next(iter(splits.test.batch(8)))
    assert images.shape == (4, 32, 32, 3)


def test_fetch_breastmnist_from_a_file_url(tmp_path):
    npz, labels = make_breastmnist(tmp_path / "mirror.npz")
    root = datasets.fetch_breastmnist(tmp_path / "breastmnist", url=npz.as_uri(), md5=md5(npz), progress=False)
    assert (root / "breastmnist.npz").is_file()
    check_breastmnist_layout(root, labels)


def test_fetch_breastmnist_over_http(served, tmp_path):
    folder, url = served
    _, labels = make_breastmnist(folder / "breastmnist.npz")
    root = datasets.fetch_breastmnist(tmp_path / "bm", url=url + "breastmnist.npz?download=1",
                                      download_dir=tmp_path / "downloads", progress=False)
    assert (tmp_path / "downloads" / "breastmnist.npz").is_file()
    check_breastmnist_layout(root, labels)


def test_fetch_breastmnist_official_defaults():
    assert datasets.BREASTMNIST_URLS[28].startswith("https://zenodo.org/")
    assert len(datasets.BREASTMNIST_MD5[28]) == 32
    with pytest.raises(ValueError, match="size must be one of"):
        datasets.fetch_breastmnist("unused", size=32)


def test_fetch_breastmnist_with_a_wrong_md5_writes_nothing(tmp_path):
    npz, _ = make_breastmnist(tmp_path / "mirror.npz")
    with pytest.raises(datasets.DownloadError, match="MD5"):
        datasets.fetch_breastmnist(tmp_path / "bm", url=npz.as_uri(), md5="f" * 32, progress=False)
    assert not (tmp_path / "bm" / "train").exists() and no_partial_files(tmp_path)


# ----------------------------------------------------------------------------- PatchCamelyon
def make_pcam(folder: Path, n: dict[str, int]) -> dict[str, np.ndarray]:
    """PCam-style .h5.gz files: x (N, 96, 96, 3) uint8, y (N, 1, 1, 1) uint8; patch i is 2 * i + 100 * label."""
    h5py = pytest.importorskip("h5py", reason="h5py is needed to write PCam-style HDF5 files")
    labels = {}
    for split, count in n.items():
        y = np.array([i % 2 for i in range(count)], dtype=np.uint8)
        x = np.stack([np.full((96, 96, 3), 2 * i + 100 * int(lab), np.uint8) for i, lab in enumerate(y)])
        x_name, y_name = datasets.PCAM_FILES[split]
        for name, key, data in ((x_name, "x", x), (y_name, "y", y.reshape(-1, 1, 1, 1))):
            h5 = folder / name[:-3]
            with h5py.File(h5, "w") as f:
                f.create_dataset(key, data=data, chunks=True, compression="gzip")
            (folder / name).write_bytes(gzip.compress(h5.read_bytes()))
            h5.unlink()
        labels[split] = y
    return labels


def test_fetch_pcam_from_file_urls(tmp_path):
    src = tmp_path / "mirror"
    src.mkdir()
    make_pcam(src, {"train": 12, "valid": 8})
    out = tmp_path / "data" / "pcam"
    root = datasets.fetch_pcam(out, n_train=6, n_validation=4, url=src.as_uri() + "/", check_md5=False,
                               progress=False)
    splits = load_splits(root, image_size=96, verbose=False)
    assert splits.counts == {"train": {"benign": 3, "malignant": 3}, "validation": {"benign": 2, "malignant": 2}}
    assert splits.test is None
    for split in ("train", "validation"):
        for cls, label in (("benign", 0), ("malignant", 1)):
            for path in (root / split / cls).iterdir():
                index = int(path.stem.removeprefix("patch"))
                assert index % 2 == label  # PCam label 0 -> benign, 1 -> malignant
                assert np.asarray(Image.open(path))[48, 48, 0] == 2 * index + 100 * label  # PNG: lossless
    # nothing left over: the label-folder staging area is gone, the downloads are kept for next time
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["pcam", "pcam_downloads"]
    assert (tmp_path / "data" / "pcam_downloads" / "camelyonpatch_level_2_split_train_x.h5").is_file()


def test_fetch_pcam_over_http_jpeg_with_test_split_and_no_kept_downloads(served, tmp_path):
    folder, url = served
    make_pcam(folder, {"train": 8, "valid": 4, "test": 4})
    root = datasets.fetch_pcam(tmp_path / "pcam", n_train=None, n_validation=None, n_test=2, url=url,
                               download_dir=tmp_path / "dl", image_format="jpg", check_md5=False,
                               keep_downloads=False, progress=False)
    splits = load_splits(root, image_size=96, require_test=True, verbose=False)
    assert splits.counts["train"] == {"benign": 4, "malignant": 4}
    assert splits.counts["test"] == {"benign": 1, "malignant": 1}
    assert all(p.suffix == ".jpg" for p in (root / "train" / "benign").iterdir())
    assert list((tmp_path / "dl").iterdir()) == []


def test_fetch_pcam_checks_md5(tmp_path):
    src = tmp_path / "mirror"
    src.mkdir()
    make_pcam(src, {"train": 4, "valid": 4})
    with pytest.raises(datasets.DownloadError, match="none of PCam's published checksums"):
        datasets.fetch_pcam(tmp_path / "pcam", n_train=2, n_validation=2, url=src.as_uri() + "/", progress=False)
    assert not (tmp_path / "pcam" / "train").exists() and no_partial_files(tmp_path)


def test_fetch_pcam_refuses_an_empty_training_split(tmp_path):
    pytest.importorskip("h5py", reason="fetch_pcam needs h5py")
    with pytest.raises(ValueError, match="n_train must be at least 1"):
        datasets.fetch_pcam(tmp_path / "pcam", n_train=0)


def test_missing_h5py_says_how_to_install(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("No module named 'h5py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install h5py"):
        datasets.fetch_pcam(tmp_path / "pcam")
