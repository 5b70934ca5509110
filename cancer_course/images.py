"""What an image is in the course, and how one is read: one module, used by every command.

``audit``, ``train`` (:func:`cancer_course.data.scan_folder` and the ``tf.data`` pipeline),
``evaluate``, ``predict``, the lessons and the widgets all ask this module, so every file gets
the same verdict and the same pixels wherever it is read:

- an image is a file whose name ends in one of :data:`EXTENSIONS` (any letter case) and whose
  content is one of :data:`FORMATS`: PNG, JPEG, BMP, GIF (first frame), TIFF (first page) and
  WebP. Histology tiles often come as TIFF, so TIFF and WebP are read like the rest;
- :func:`inspect` opens and fully decodes one file and returns an :class:`ImageInfo` whose
  ``error`` says, in one sentence, why the file cannot be used and what to do (empty, corrupt or
  truncated, another format, too large) - any exception the decoder raises becomes that verdict;
- :func:`read_rgb` gives the pixels: an (H, W, 3) uint8 array, converted the same way whatever
  the file holds (:data:`CONVERSIONS`: greyscale copied to R, G and B, alpha dropped, palette
  looked up, 16-bit scaled to 8 bits by ``round(v / 257)``, CMYK converted by Pillow);
- :func:`decode_image` is the same decoder inside TensorFlow (``tf.numpy_function`` around
  :func:`read_rgb`; 8-bit grey, RGB and RGBA PNGs, for which TensorFlow's ``decode_png`` gives
  the same pixels, by ``decode_png``, so that training on PNG tiles is as fast as before), then a
  bilinear, antialiased resize to the model's size and a scale to [0, 1]: the step training,
  evaluation and inference share. Every command resizes an image of
  another size this way (:data:`SIZE_POLICY`).

Pillow decodes everything but those PNGs, so the same C libraries (libpng, libjpeg-turbo,
libtiff, libwebp) give the pixels in every command (``tests/test_image_path.py`` checks that
each path gives the pixels computed from what was written); EXIF orientation is ignored
everywhere, as TensorFlow ignores it.
TensorFlow is imported only by :func:`decode_image` and :func:`resize_and_scale`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .defaults import EXTENSIONS, SIZE_POLICY  # noqa: F401  (what the command parsers show: defaults.py)

FORMATS = {"PNG", "JPEG", "MPO", "BMP", "GIF", "TIFF", "WEBP"}  # Pillow's names (MPO: a multi-picture JPEG)
MAX_PIXELS = 50_000_000  # larger images are refused before they are decoded (a 50 MP RGB image is 150 MB)

# How each Pillow mode becomes RGB, in words for reports.
CONVERSIONS = {
    "L": "greyscale, copied to R, G and B",
    "LA": "greyscale with alpha, copied to R, G and B, alpha dropped",
    "RGBA": "RGBA, alpha channel dropped",
    "P": "palette (indexed colour), looked up to RGB",
    "PA": "palette with alpha, looked up to RGB, alpha dropped",
    "1": "black-and-white (1-bit), expanded to RGB",
    "I;16": "16-bit greyscale, scaled to 8 bits and copied to R, G and B",
    "I;16B": "16-bit greyscale, scaled to 8 bits and copied to R, G and B",
    "I;16L": "16-bit greyscale, scaled to 8 bits and copied to R, G and B",
    "I": "16/32-bit greyscale, scaled to 8 bits (as 16-bit) and copied to R, G and B",
    "F": "floating-point greyscale, clipped to 0-255 and copied to R, G and B",
    "CMYK": "CMYK, converted to RGB",
    "YCbCr": "YCbCr, converted to RGB",
}
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def is_image_name(path: str | Path) -> bool:
    """Whether the file name has one of :data:`EXTENSIONS` (in any letter case)."""
    return Path(path).suffix.lower() in EXTENSIONS


def not_an_image(path: str | Path) -> str:
    """The verdict on a file whose name is not an image's."""
    return f"not an image file (images end in {', '.join(EXTENSIONS)}): move it out of the image folders"


@dataclass
class ImageInfo:
    """What opening one file found out: its format, mode, size, or why it cannot be used."""

    path: Path
    format: str | None = None
    mode: str | None = None
    size: tuple[int, int] | None = None  # (width, height)
    error: str | None = None  # why it cannot be used and what to do (without the path), or None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str | None:
        """The verdict as a sentence that names the file, or None for a usable image."""
        return None if self.error is None else f"{self.path}: {self.error}"

    @property
    def conversion(self) -> str | None:
        """How the image becomes RGB, in words; None for an RGB image."""
        if self.mode in (None, "RGB"):
            return None
        return CONVERSIONS.get(self.mode, f"mode {self.mode}, converted to RGB")


class ImageError(ValueError):
    """A file that is not a usable image; the message names it and says what to do."""


def _to_rgb(image: Image.Image) -> np.ndarray:
    """An opened, loaded Pillow image as (H, W, 3) uint8, by the rules of :data:`CONVERSIONS`."""
    mode = image.mode
    if mode in _SIXTEEN_BIT or mode == "F":
        values = np.asarray(image, dtype=np.float64)
        if mode != "F":
            values = values / 257.0  # 65535 -> 255, and 257 * v -> v exactly
        grey = np.clip(np.round(values), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8)


def read(path: str | Path, pixels: bool = True) -> tuple[ImageInfo, np.ndarray | None]:
    """Judge one file and decode it: ``(info, rgb)``, with ``rgb`` None when ``info.error`` says why.

    Never raises: whatever goes wrong (a missing or empty file, a decoder's exception, an image
    over :data:`MAX_PIXELS`) is the file's verdict. ``pixels=False`` decodes but keeps no pixels.
    """
    path = Path(os.fsdecode(path))
    info = ImageInfo(path)
    if not path.exists():
        info.error = ("does not exist: no file or folder of that name; check the path"
                      + (" (it is a link to a missing file)" if path.is_symlink() else ""))
        return info, None
    if path.is_dir():
        info.error = "is a folder, not an image file: name the image files in it, or the folder where a command takes one"
        return info, None
    if not is_image_name(path):
        info.error = not_an_image(path)
        return info, None
    try:
        if path.stat().st_size == 0:
            info.error = "empty file (0 bytes): the copy or download failed; copy it again or delete it"
            return info, None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own MAX_PIXELS check says it
            with Image.open(path) as image:
                info.format, info.mode, info.size = image.format, image.mode, image.size
                if info.format not in FORMATS:
                    info.error = (f"holds a {info.format} image, which the course does not read: convert it to "
                                  "PNG (e.g. Image.open(p).convert('RGB').save(p.with_suffix('.png'))) and "
                                  "remove the original")
                    return info, None
                width, height = image.size
                if width * height > MAX_PIXELS:
                    info.error = (f"{width}x{height} pixels ({width * height:,}) is more than the {MAX_PIXELS:,} "
                                  "pixels an image may have (images.MAX_PIXELS): cut it into tiles or shrink it first")
                    return info, None
                image.load()  # reading every pixel is what finds truncated files
                rgb = _to_rgb(image)
    except UnidentifiedImageError:
        info.error = (f"cannot be decoded (not a {', '.join(sorted(FORMATS - {'MPO'}))} file): the file is corrupt "
                      "or not an image; replace or delete it")
        return info, None
    except Exception as exc:  # noqa: BLE001 - whatever the decoder raises, the file cannot be used
        reason = str(exc).replace(repr(str(path)), "").replace(str(path), "").strip(" :") or type(exc).__name__
        info.error = f"cannot be decoded ({reason}): the file is corrupt or truncated; replace or delete it"
        return info, None
    return info, (rgb if pixels else None)


def inspect(path: str | Path) -> ImageInfo:
    """Open and fully decode one file; its format, mode and size, or the reason it cannot be used."""
    return read(path, pixels=False)[0]


def read_rgb(path: str | Path) -> np.ndarray:
    """The pixels of one image file as an (H, W, 3) uint8 array, converted to RGB as every command does.

    A missing file raises FileNotFoundError, any other unusable file :class:`ImageError`
    (a ValueError); both messages name the file and say what to do.
    """
    info, rgb = read(path)
    if info.error:
        raise (FileNotFoundError if not info.path.exists() else ImageError)(info.message)
    return rgb


def _rgb_for_tensorflow(path) -> np.ndarray:
    """:func:`read_rgb` of the path ``tf.numpy_function`` passes (bytes, or a 0-d array when eager)."""
    path = path.item() if isinstance(path, np.ndarray) else path
    return read_rgb(os.fsdecode(path))


def resize_and_scale(pixels, image_size: int):
    """(H, W, 3) uint8 pixels -> an (image_size, image_size, 3) float32 tensor in [0, 1] (bilinear, antialiased)."""
    import tensorflow as tf

    image = tf.image.resize(pixels, (image_size, image_size), antialias=True)
    image = tf.clip_by_value(image / 255.0, 0.0, 1.0)
    image.set_shape((image_size, image_size, 3))
    return image


_PNG_SIGNATURE = (137, 80, 78, 71, 13, 10, 26, 10)
_FAST_PNG_TYPES = (0, 2, 6)  # 8-bit greyscale, RGB, RGBA: TensorFlow's decode_png gives read_rgb's pixels


def _fast_png(raw):
    """Whether TensorFlow's own PNG decoder may read these bytes: an 8-bit grey, RGB or RGBA PNG within MAX_PIXELS.

    For those, ``tf.io.decode_png(raw, channels=3)`` gives exactly :func:`read_rgb`'s pixels
    (grey copied to R, G and B, alpha dropped) without a round trip through Python - the common
    case of training on PNG tiles stays as fast as TensorFlow. Everything else goes through Pillow.
    """
    import tensorflow as tf

    head = tf.strings.substr(raw, 0, 26)  # signature, IHDR length and type, width, height, depth, colour type

    def header_says_fast():
        b = tf.cast(tf.io.decode_raw(head, tf.uint8), tf.int64)
        width = b[16] * 2**24 + b[17] * 2**16 + b[18] * 2**8 + b[19]
        height = b[20] * 2**24 + b[21] * 2**16 + b[22] * 2**8 + b[23]
        return (tf.reduce_all(tf.equal(b[:8], _PNG_SIGNATURE)) & tf.reduce_all(tf.equal(b[12:16], (73, 72, 68, 82)))
                & tf.equal(b[24], 8) & tf.reduce_any(tf.equal(b[25], _FAST_PNG_TYPES)) & (width * height <= MAX_PIXELS))

    return tf.cond(tf.equal(tf.strings.length(head), 26), header_says_fast, lambda: tf.constant(False))


def decode_image(path, image_size: int):
    """Read one image file into an (image_size, image_size, 3) float32 tensor in [0, 1].

    :func:`read_rgb`'s pixels inside TensorFlow (8-bit grey, RGB and RGBA PNGs, which TensorFlow
    decodes to the same pixels, by ``tf.io.decode_png``; every other file through
    ``tf.numpy_function`` around :func:`read_rgb`), then :func:`resize_and_scale`. Works on a path
    string or a string tensor, so it can be used inside ``Dataset.map``; a file that is not a
    usable image makes the op fail (``Dataset.ignore_errors`` drops it, :func:`inspect` says why).
    """
    import tensorflow as tf

    raw = tf.io.read_file(path)
    pixels = tf.cond(_fast_png(raw), lambda: tf.io.decode_png(raw, channels=3, dtype=tf.uint8),
                     lambda: tf.numpy_function(_rgb_for_tensorflow, [path], tf.uint8, stateful=False))
    pixels.set_shape((None, None, 3))
    return resize_and_scale(pixels, image_size)
