"""The pieces of churnpredict's self-contained HTML pages (report, campaign readout).

Plots are drawn on Agg figures (no pyplot state) and embedded as PNG data; every text from
data goes into a page through :func:`escape`.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._atomic import atomic_write

__all__ = ["PAGE_CSS", "Plot", "escape", "figure_html", "number", "render_plot", "write_page"]

DPI = 110

#: The style sheet every page embeds.
PAGE_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:1.7em}h2{margin-top:36px;border-bottom:1px solid #d0d7de;
padding-bottom:4px}
.sub{color:#59636e;margin:0 0 20px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;
min-width:150px;flex:1}
.card .v{font-size:1.7em;font-weight:600}.card .k{color:#59636e;font-size:.85em}
.card .h{font-size:.8em;color:#59636e;margin-top:4px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px}
figure{background:#fff;border:1px solid #d0d7de;border-radius:8px;margin:0;padding:8px}
figure img{width:100%;height:auto}figcaption{font-size:.85em;color:#59636e;padding:4px}
table{border-collapse:collapse;background:#fff;width:100%;font-size:.88em}
th,td{border:1px solid #d0d7de;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}td.n{text-align:right;white-space:nowrap}
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px}
.tag{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:.8em}
footer{color:#59636e;font-size:.8em;margin-top:40px}
"""


@dataclass
class Plot:
    """A rendered plot: file stem, caption and PNG bytes."""

    stem: str
    caption: str
    png: bytes


def render_plot(draw: Callable[[Any], Any], size: tuple[float, float] = (6.4, 4.2)) -> bytes:
    """Draw on a fresh Agg figure (no pyplot state) and return PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    draw(ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


_NOT_HTML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def escape(value: Any) -> str:
    """Every text from data goes into the page through here: HTML-escaped (quotes too, so
    it is safe in attributes) and without the control characters HTML cannot hold."""
    text = "" if value is None else str(value)
    return html.escape(_NOT_HTML.sub("\ufffd", text), quote=True)


def number(value: Any, fmt: str = "{:,.0f}") -> str:
    """A number for a page (``"n/a"`` when missing; other values escaped)."""
    try:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return fmt.format(value)
    except (TypeError, ValueError):
        return escape(value)


def figure_html(plot: Plot) -> str:
    """A plot as an HTML figure with its PNG inline and a link to the PNG file."""
    data = base64.b64encode(plot.png).decode("ascii")
    return (
        f'<figure id="fig-{plot.stem}"><img src="data:image/png;base64,{data}" '
        f'alt="{escape(plot.caption)}"><figcaption>{escape(plot.caption)} '
        f'(<a href="{escape(plot.stem)}.png">{escape(plot.stem)}.png</a>)</figcaption>'
        f"</figure>"
    )


def write_page(path: Path, payload: bytes) -> None:
    """Write a page (or a PNG) atomically."""
    with atomic_write(path) as tmp:
        tmp.write_bytes(payload)
