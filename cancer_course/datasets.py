"""Fetch real public datasets into the course layout: one call each (needs the internet).

For a learner on their own machine or on Colab::

    from cancer_course.datasets import fetch_breastmnist, fetch_pcam

    root = fetch_breastmnist("data/breastmnist")            # 0.6 MB, a few seconds
    root = fetch_pcam("data/pcam", n_train=20_000, n_validation=3_000)   # see the sizes below

Both return a folder ``ROOT/{train,validation[,test]}/{benign,malignant}/*`` that
:func:`cancer_course.pipeline.load_splits` (and every lesson, through ``--dataset-path`` or the
notebooks' data parameter) reads.

- **BreastMNIST** (MedMNIST v2, breast ultrasound, 28x28 greyscale, CC BY 4.0): the official
  ``breastmnist.npz`` from Zenodo, checked against its published MD5, then written as PNGs by
  :func:`cancer_course.adapters.from_medmnist_npz`. BreastMNIST's **label 0 is malignant** (1 = normal
  or benign): the adapter maps it to the course's benign/malignant folders. ``size=64`` (or 128,
  224) fetches MedMNIST+'s larger version of the same images.
- **PatchCamelyon** (PCam, H&E lymph-node patches, 96x96 RGB, CC0): the official HDF5 files
  (``camelyonpatch_level_2_split_{train,valid,test}_{x,y}.h5.gz``, ``x`` is ``(N, 96, 96, 3)``
  uint8, ``y`` is ``(N, 1, 1, 1)``; 0 = no tumour in the centre 32x32 region -> benign, 1 ->
  malignant). There is no way to download part of an ``.h5.gz``: a subset of the training split
  still downloads the whole training file (**6.4 GB**; validation and test are about 0.8 GB each)
  and needs about twice that on disk while it is unpacked. The patches are drawn (seeded,
  class-balanced by default) and written as PNG (lossless; ``image_format="jpg"`` is smaller)
  into ``0/`` and ``1/`` label folders, then moved into the course layout by
  :func:`cancer_course.adapters.from_label_folders`. Reading HDF5 needs ``h5py``, which Keras already
  depends on (if it is missing: ``pip install h5py``).

Downloads stream into a temporary file next to the target and are renamed only when complete
and checked (size, then MD5 when it is known), so an interrupted or failed download never leaves
a half-written file behind; a file already there with the right checksum is not downloaded
again. Every URL is a parameter (the module constants hold the official ones), so a mirror or a
local copy (``file:///path/to/breastmnist.npz``) works the same way.

Research and education only: not a medical device, not for clinical use.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from .adapters import from_label_folders, from_medmnist_npz
from .errors import DataError, DownloadError

__all__ = [
    "BREASTMNIST_URLS",
    "BREASTMNIST_MD5",
    "PCAM_BASE_URL",
    "PCAM_FILES",
    "PCAM_MD5",
    "DownloadError",
    "download",
    "gunzip",
    "md5sum",
    "fetch_breastmnist",
    "fetch_pcam",
    "pcam_h5_to_label_folders",
]

# ----------------------------------------------------------------------------- official sources
#: MedMNIST v2/v3 on Zenodo (record 10519652): BreastMNIST at 28 px and MedMNIST+'s larger sizes.
BREASTMNIST_URLS = {
    28: "https://zenodo.org/records/10519652/files/breastmnist.npz?download=1",
    64: "https://zenodo.org/records/10519652/files/breastmnist_64.npz?download=1",
    128: "https://zenodo.org/records/10519652/files/breastmnist_128.npz?download=1",
    224: "https://zenodo.org/records/10519652/files/breastmnist_224.npz?download=1",
}
#: MD5 of each file, as published in the ``medmnist`` package (``medmnist/info.py``).
BREASTMNIST_MD5 = {
    28: "750601b1f35ba3300ea97c75c52ff8f6",
    64: "742edef2a1fd1524b2efff4bd7ba9364",
    128: "363e4b3f8d712e9b5de15470a2aaadf1",
    224: "b56378a6eefa9fed602bb16d192d4c8b",
}

#: PatchCamelyon on Zenodo (record 2546921); a file's URL is ``PCAM_BASE_URL + name + "?download=1"``.
PCAM_BASE_URL = "https://zenodo.org/records/2546921/files/"
#: PCam's split names -> (images file, labels file).
PCAM_FILES = {
    "train": ("camelyonpatch_level_2_split_train_x.h5.gz", "camelyonpatch_level_2_split_train_y.h5.gz"),
    "valid": ("camelyonpatch_level_2_split_valid_x.h5.gz", "camelyonpatch_level_2_split_valid_y.h5.gz"),
    "test": ("camelyonpatch_level_2_split_test_x.h5.gz", "camelyonpatch_level_2_split_test_y.h5.gz"),
}
#: MD5 of each ``.h5.gz``, as listed in the PCam README (github.com/basveeling/pcam).
PCAM_MD5 = {
    "camelyonpatch_level_2_split_train_x.h5.gz": "1571f514728f59376b705fc836ff4b63",
    "camelyonpatch_level_2_split_train_y.h5.gz": "35c2d7259d906cfc8143347bb8e05be7",
    "camelyonpatch_level_2_split_valid_x.h5.gz": "d5b63470df7cfa627aeec8b9dc0c066e",
    "camelyonpatch_level_2_split_valid_y.h5.gz": "2b85f58b927af9964a4c15b8f7e8f179",
    "camelyonpatch_level_2_split_test_x.h5.gz": "d8c2d60d490dbd479f8199bdfa0cf6ec",
    "camelyonpatch_level_2_split_test_y.h5.gz": "60a7035772fbdb7f34eb86d4420cf66a",
}
PCAM_SPLITS = {"train": "train", "validation": "valid", "test": "test"}  # course split -> PCam split

H5PY_HELP = (
    "Reading PatchCamelyon's HDF5 files needs the h5py package (Keras normally installs it): "
    "run  pip install h5py  (on Colab it is already there), then call fetch_pcam again."
)
CHUNK = 1 << 20  # 1 MiB per read while downloading or unpacking


# ----------------------------------------------------------------------------- downloading
def md5sum(path: str | Path, chunk: int = CHUNK) -> str:
    """The MD5 of a file, read in chunks (files of several GB are fine)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def download(url: str, dest: str | Path, *, md5: str | None = None, size: int | None = None,
             timeout: float = 60, progress: bool = True) -> Path:  # fmt: skip
    """Download `url` to `dest` and return `dest`; nothing half-written is ever left at `dest`.

    The bytes stream into a temporary file in `dest`'s folder, which is renamed to `dest` only
    when the download is complete (as many bytes as the server announced, and `size` when given)
    and its MD5 equals `md5` (when given). Any failure - no network, an HTTP error, a short read,
    a wrong checksum, Ctrl+C - deletes the temporary file and raises :class:`DownloadError` (or
    re-raises the interrupt). If `dest` already exists with the right `md5`, nothing is
    downloaded. ``file://`` URLs work too (a local copy, or a test).
    """
    dest = Path(dest)
    if dest.is_file() and md5 and md5sum(dest) == md5:
        if progress:
            print(f"{dest} is already here (MD5 checked): not downloading it again.")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "cancer-course"})
            with urllib.request.urlopen(request, timeout=timeout) as response, os.fdopen(fd, "wb") as out:
                fd = None
                announced = response.headers.get("Content-Length")
                announced = int(announced) if announced and announced.isdigit() else None
                received, shown = 0, 0
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    received += len(block)
                    if progress and announced and received - shown >= max(CHUNK, announced // 20):
                        shown = received
                        print(f"\r  {dest.name}: {_human(received)} of {_human(announced)}", end="", flush=True)
                if progress and announced:
                    print()
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"Downloading {url} failed: HTTP {exc.code} {exc.reason}. Check the URL, or try "
                                "again later (the server may be busy).") from None
        except urllib.error.URLError as exc:
            raise DownloadError(
                f"Could not download {url} ({exc.reason}). Are you online? Check the connection (on Colab: "
                f"Runtime > Reconnect), or download the file in a browser and pass its path as "
                f"url='file:///path/to/{dest.name}'."
            ) from None
        except (OSError, http.client.HTTPException) as exc:  # reset connection, timeout, disk full ...
            raise DownloadError(f"Downloading {url} failed ({type(exc).__name__}: {exc}): run it again; "
                                f"nothing was written to {dest}.") from None
        if announced is not None and received != announced:
            raise DownloadError(f"Downloading {url} stopped after {received} of {announced} bytes: run it again.")
        if size is not None and received != size:
            raise DownloadError(f"{url} gave {received} bytes but {dest.name} has {size}: run it again, or check the URL.")
        if md5:
            got = md5sum(tmp)
            if got != md5:
                raise DownloadError(f"{url} downloaded, but its MD5 is {got}, not {md5}: the download is damaged "
                                    "or the file has changed. Run it again, or check the URL.")
        os.replace(tmp, dest)
    finally:
        if fd is not None:
            os.close(fd)
        if tmp.exists():
            tmp.unlink()
    return dest


def gunzip(src: str | Path, dest: str | Path) -> Path:
    """Unpack a ``.gz`` file to `dest` (streamed, through a temporary file renamed at the end)."""
    src, dest = Path(src), Path(dest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with gzip.open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            fd = None
            shutil.copyfileobj(fin, fout, CHUNK)
        os.replace(tmp, dest)
    except (OSError, EOFError) as exc:
        raise DataError(f"{src} could not be unpacked ({exc}): delete it and download it again.") from None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp.exists():
            tmp.unlink()
    return dest


# ----------------------------------------------------------------------------- BreastMNIST
def fetch_breastmnist(out_dir: str | Path = "data/breastmnist", url: str | None = None, *, size: int = 28,
                      md5: str | None = "official", download_dir: str | Path | None = None,
                      progress: bool = True) -> Path:  # fmt: skip
    """Download MedMNIST's BreastMNIST and write it in the course layout under `out_dir`.

    Args:
        out_dir: where ``train/``, ``validation/`` and ``test/`` go (546, 78 and 156 images).
        url: where to download ``breastmnist.npz`` from (default ``BREASTMNIST_URLS[size]``, the
            official Zenodo file); a mirror or ``file:///...`` works too.
        size: 28 (the classic MedMNIST v2 images), or MedMNIST+'s 64, 128 or 224.
        md5: the expected MD5; ``"official"`` = the published one for `size` when `url` is the
            official one (otherwise not checked), ``None`` = do not check.
        download_dir: where the ``.npz`` is kept (default `out_dir`); a second call reuses it.

    Returns `out_dir`. BreastMNIST's label 0 is *malignant*: :func:`~cancer_course.adapters.from_medmnist_npz`
    puts those images in ``malignant/`` and label 1 (normal or benign) in ``benign/``.
    """
    if size not in BREASTMNIST_URLS:
        raise ValueError(f"size must be one of {sorted(BREASTMNIST_URLS)} (MedMNIST's sizes), got {size}.")
    official = BREASTMNIST_URLS[size]
    url = url or official
    if md5 == "official":
        md5 = BREASTMNIST_MD5[size] if url == official else None
    out = Path(out_dir)
    folder = Path(download_dir) if download_dir else out
    name = "breastmnist.npz" if size == 28 else f"breastmnist_{size}.npz"
    npz = download(url, folder / name, md5=md5, progress=progress)
    # from_medmnist_npz knows BreastMNIST's label meaning from the file name; say it explicitly.
    from_medmnist_npz(npz, out, malignant_label=0)
    if progress:
        print(f"BreastMNIST ({size} px) in the course layout: {out}")
    return out


# ----------------------------------------------------------------------------- PatchCamelyon
def _require_h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError(H5PY_HELP) from None
    return h5py


def _choose(labels: np.ndarray, n: int | None, balanced: bool, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of `n` patches (all when None), half of each class when `balanced`."""
    total = len(labels)
    if n is None or n >= total:
        return np.arange(total)
    if n < 1:
        raise ValueError(f"Asked for {n} patches: ask for at least 1 (or None for all).")
    if not balanced:
        return np.sort(rng.choice(total, size=n, replace=False))
    picks = []
    for cls, k in ((0, n // 2), (1, n - n // 2)):
        where = np.flatnonzero(labels == cls)
        if k > len(where):
            raise ValueError(f"Asked for {k} patches of label {cls} but the file has {len(where)}.")
        picks.append(rng.choice(where, size=k, replace=False))
    return np.sort(np.concatenate(picks))


def pcam_h5_to_label_folders(x_h5: str | Path, y_h5: str | Path, out_dir: str | Path, n: int | None = None,
                             *, balanced: bool = True, seed: int = 0, image_format: str = "png",
                             prefix: str = "patch", chunk: int = 4096) -> dict[str, int]:  # fmt: skip
    """Write PCam patches from an ``x``/``y`` pair of ``.h5`` files as images in ``out_dir/{0,1}/``.

    `n` patches are drawn with `seed` (all of them when None; half of each label when
    `balanced`). File names are ``{prefix}{index:07d}.{png|jpg}``, the patch's index in the HDF5
    file. Returns the number written per label folder.
    """
    from PIL import Image

    h5py = _require_h5py()
    if image_format not in ("png", "jpg"):
        raise ValueError(f"image_format must be 'png' (lossless) or 'jpg', got {image_format!r}.")
    out = Path(out_dir)
    with h5py.File(y_h5, "r") as fy:
        labels = np.asarray(fy["y"]).reshape(-1).astype(int)
    if not set(np.unique(labels).tolist()) <= {0, 1}:
        raise DataError(f"{y_h5}: labels are {sorted(set(labels.tolist()))}, not 0/1: is this a PCam *_y.h5 file?")
    chosen = _choose(labels, n, balanced, np.random.default_rng(seed))
    counts = {"0": 0, "1": 0}
    for folder in counts:
        (out / folder).mkdir(parents=True, exist_ok=True)
    with h5py.File(x_h5, "r") as fx:
        images = fx["x"]
        if len(images) != len(labels) or images.shape[1:] != (96, 96, 3):
            raise DataError(f"{x_h5}: images of shape {images.shape} for {len(labels)} labels: "
                            "expected (N, 96, 96, 3) PCam patches; are x and y from the same split?")
        for start in range(0, len(images), chunk):  # read contiguous blocks: fast on gzip-chunked HDF5
            wanted = chosen[(chosen >= start) & (chosen < start + chunk)]
            if not len(wanted):
                continue
            block = images[start:min(start + chunk, len(images))]
            for index in wanted:
                folder = str(labels[index])
                path = out / folder / f"{prefix}{index:07d}.{image_format}"
                Image.fromarray(np.asarray(block[index - start], dtype=np.uint8)).save(
                    path, **({"quality": 95} if image_format == "jpg" else {}))
                counts[folder] += 1
    return counts


def _pcam_file(name: str, folder: Path, base_url: str, check_md5: bool, progress: bool) -> Path:
    """Download one PCam ``.h5.gz`` (unless its ``.h5`` is there) and unpack it; return the ``.h5``."""
    h5 = folder / name[: -len(".gz")]
    if h5.is_file():
        return h5
    gz = download(f"{base_url}{name}?download=1" if base_url.startswith("http") else f"{base_url}{name}",
                  folder / name, progress=progress)
    if check_md5:
        got = md5sum(gz)
        if got != PCAM_MD5[name]:
            same_as = [other for other, digest in PCAM_MD5.items() if digest == got]
            if not same_as:
                gz.unlink()
                raise DownloadError(f"{name} downloaded, but its MD5 {got} is none of PCam's published checksums: "
                                    "the file is damaged or not PCam. Run it again.")
            # Some mirrors are reported to swap the validation and test file names.
            print(f"warning: {name} has the MD5 the PCam README gives for {same_as[0]}: a genuine PCam file, "
                  "but this mirror may name the validation and test files the other way round.", file=sys.stderr)
    if progress:
        print(f"  unpacking {name} ...", flush=True)
    gunzip(gz, h5)
    gz.unlink()  # the unpacked .h5 is what a second call reuses; the .gz would only take space
    return h5


def fetch_pcam(out_dir: str | Path = "data/pcam", n_train: int | None = 20_000, n_validation: int | None = 3_000,
               n_test: int | None = 0, *, url: str = PCAM_BASE_URL, download_dir: str | Path | None = None,
               balanced: bool = True, seed: int = 0, image_format: str = "png", check_md5: bool = True,
               keep_downloads: bool = True, progress: bool = True) -> Path:  # fmt: skip
    """Download PatchCamelyon and write a (class-balanced, seeded) subset in the course layout.

    Args:
        out_dir: where ``train/``, ``validation/`` (and ``test/`` when `n_test`) go.
        n_train, n_validation, n_test: patches per split, drawn from PCam's train, valid and test
            files (None = all: 262,144 / 32,768 / 32,768; 0 = skip the split - only ``test`` may
            be skipped). The defaults give what the course's benchmark uses: 20,000 and 3,000.
        url: the folder URL the ``*.h5.gz`` files are under (default the official Zenodo record,
            :data:`PCAM_BASE_URL`); a mirror, or ``file:///folder/`` for local copies.
        download_dir: where the files are downloaded and unpacked (default
            ``<out_dir>_downloads`` next to `out_dir`); each ``.h5.gz`` is deleted once unpacked, and
            the ``.h5`` files are kept, so a second call (another subset) downloads nothing.
        balanced: half of each label per split (PCam itself is 50/50).
        seed: which patches are drawn.
        image_format: ``"png"`` (lossless, as PCam) or ``"jpg"`` (smaller; what ``../shared/data``
            holds).
        check_md5: compare every ``.h5.gz`` with the PCam README's MD5.
        keep_downloads: False deletes the unpacked ``.h5`` files at the end (7.3 GB for train).

    Returns `out_dir`. Label 0 (no tumour in the centre 32x32 px) -> ``benign``, 1 -> ``malignant``.
    Needs h5py (``pip install h5py`` if it is missing) and, for the training split, about 14 GB of
    free disk (6.4 GB download + 7.3 GB unpacked; the validation and test files are ~0.8 GB each).
    """
    _require_h5py()
    sizes = {"train": n_train, "validation": n_validation, "test": n_test}
    for split in ("train", "validation"):
        if sizes[split] == 0:
            raise ValueError(f"n_{split} must be at least 1 (or None for all): the course needs a {split} split.")
    out = Path(out_dir)
    folder = Path(download_dir) if download_dir else out.parent / f"{out.name}_downloads"
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pcam-label-folders-", dir=out.parent if out.parent.exists() else None))
    made = []
    try:
        for split, n in sizes.items():
            if n == 0:
                continue
            pcam_split = PCAM_SPLITS[split]
            x_name, y_name = PCAM_FILES[pcam_split]
            y_h5 = _pcam_file(y_name, folder, url, check_md5, progress)
            x_h5 = _pcam_file(x_name, folder, url, check_md5, progress)
            made += [x_h5, y_h5]
            counts = pcam_h5_to_label_folders(x_h5, y_h5, staging / pcam_split, n, balanced=balanced, seed=seed,
                                              image_format=image_format)
            if progress:
                print(f"  {split}: {counts['0']} benign (label 0), {counts['1']} malignant (label 1)")
        # label folders 0/ and 1/ (PCam style) -> the course layout; "valid" is read as validation.
        from_label_folders(staging, out, benign="0", malignant="1")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not keep_downloads:
        for path in made:
            path.unlink(missing_ok=True)
    if progress:
        print(f"PatchCamelyon subset in the course layout: {out}")
    return out
