"""What every explorer shares: the :class:`Explorer` widget (controls, a figure, the numbers, kept in step),
its sliders and tables, and the figure as a PNG output that needs no browser to render."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

_DPI = 90
_SLIDER_STYLE = {"description_width": "110px"}
_SLIDER_WIDTH = "420px"


def figure_png(fig: Figure, dpi: int = _DPI) -> bytes:
    """A figure as PNG bytes (what an explorer shows)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _png_output(png: bytes, text: str) -> dict:
    """A ``display_data`` output for an ``Output`` widget: the PNG, and text for text-only viewers."""
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text}}  # fmt: skip


def _text_output(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text + "\n"}


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _table(rows: Sequence[tuple[str, object]]) -> str:
    """Rows of (name, value) as a small HTML table."""
    cells = "".join(
        f"<tr><td style='padding:1px 10px 1px 0'><b>{html.escape(str(k))}</b></td>"
        f"<td style='padding:1px 0'>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table style='font-size:12px'>{cells}</table>"


def _slider(kind, name: str, value, low, high, step, fmt: str | None = None):
    extra = {"readout_format": fmt} if fmt else {}
    return kind(value=value, min=low, max=high, step=step, description=name, continuous_update=False,
                style=_SLIDER_STYLE, layout=widgets.Layout(width=_SLIDER_WIDTH), **extra)  # fmt: skip


class Explorer(widgets.VBox):
    """Controls, an ``Output`` with the figure and an ``HTML`` with the numbers, kept in step.

    ``render(values)`` (``values`` = name -> control value) returns ``(result, figure, info_html)``.
    The explorer calls it once on creation and again whenever a control's value changes;
    ``renders`` counts the calls, ``error`` holds the last exception (None when fine).
    """

    def __init__(self, title: str, controls: Mapping[str, widgets.ValueWidget],
                 render: Callable[[dict], tuple[object, Figure, str]], note: str = ""):  # fmt: skip
        self.controls = dict(controls)
        self._render = render
        self.output = widgets.Output(layout=widgets.Layout(min_height="120px"))
        self.info = widgets.HTML()
        self.result = None
        self.error: Exception | None = None
        self.renders = 0
        self._paused = False
        header = f"<b>{html.escape(title)}</b>" + (f" <span style='color:#666'>{html.escape(note)}</span>" if note else "")
        super().__init__([widgets.HTML(header), widgets.VBox(list(self.controls.values())),
                          widgets.HBox([self.output, self.info])])  # fmt: skip
        self.add_class("cancer-course-explorer")
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.refresh()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def _changed(self, _change) -> None:
        if not self._paused:
            self.refresh()

    def refresh(self) -> None:
        """Render the current control values into the output and the info panel."""
        self.renders += 1
        try:
            result, fig, info = self._render(self.values())
            png = figure_png(fig)
        except Exception as exc:  # shown in the explorer: a callback's traceback would vanish in a log
            self.error = exc
            self.output.outputs = (_text_output(f"error: {type(exc).__name__}: {exc}"),)
            self.info.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return
        self.error = None
        self.result = result
        self.info.value = info  # before the figure: a browser that sees the new figure sees the new numbers
        self.output.outputs = (_png_output(png, f"<{type(self).__name__} figure, render {self.renders}>"),)


def _as_float_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Pass one RGB image (H, W, 3); got shape {image.shape}.")
    image = image.astype(np.float32)
    return image / 255.0 if image.max() > 1.0 else image
