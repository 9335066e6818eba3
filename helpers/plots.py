"""Figures of the course: image grids, feature maps and kernels shown as numbers."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine

# A figure is FIGURE_DPI page pixels per inch, stored at twice that resolution (`crisp_figures`);
# its base text, FONT_SIZE points, is then FONT_SIZE * FIGURE_DPI / 72 = 16.7 pixels on the page,
# as large as the book's body text. MAX_WIDTH_IN inches (660 pixels) fit the book's output
# column (676 pixels in a 1280-pixel window) and JupyterLab's, so no figure is shrunk with its
# text.
FIGURE_DPI = 100
FONT_SIZE = 12
MAX_WIDTH_IN = 6.6


def fit_width(fig: Figure, max_width: float = MAX_WIDTH_IN) -> Figure:
    """Make a figure wider than `max_width` inches that wide, keeping its text size.

    Its axes shrink and its text does not, so the page never scales the picture (and its
    text) down to fit the column.
    """
    width, height = fig.get_size_inches()
    if width > max_width:
        # Titles and labels keep their size, so the axes must give up more room than the
        # figure: its height shrinks by the square root of the width's ratio only.
        fig.set_size_inches(max_width, height * math.sqrt(max_width / width))
        engine = fig.get_layout_engine()  # after tight_layout(): a placeholder
        if (engine is None or isinstance(engine, PlaceHolderLayoutEngine)) and len(fig.axes) > 1:
            # A `tight_layout()` done at the old size no longer fits: do it again at the new one
            # (constrained layout, the other engine, follows the size by itself).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # axes that tight_layout cannot place stay put
                fig.tight_layout()
    return fig


def _retina_png(fig: Figure):
    from IPython.core.pylabtools import retina_figure

    shown = retina_figure(fit_width(fig), bbox_inches="tight")
    # The tight box can reach past the figure (a long suptitle, labels): shrink once more.
    if shown is not None and shown[1]["width"] > MAX_WIDTH_IN * FIGURE_DPI:
        fit_width(fig, fig.get_size_inches()[0] * MAX_WIDTH_IN * FIGURE_DPI / shown[1]["width"])
        shown = retina_figure(fig, bbox_inches="tight")
    # A suptitle wider than the column on its own: break it into two lines.
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""
    if shown is not None and shown[1]["width"] > MAX_WIDTH_IN * FIGURE_DPI and " " in title:
        if "\n" not in title:
            spaces = [i for i, char in enumerate(title) if char == " "]
            middle = min(spaces, key=lambda i: abs(i - len(title) / 2))
            fig._suptitle.set_text(title[:middle] + "\n" + title[middle + 1 :])
            shown = retina_figure(fig, bbox_inches="tight")
    return shown


def crisp_figures() -> None:
    """Figures as the book and JupyterLab should show them: PNG at 2x, text at body size.

    Call it once, after importing matplotlib (every lesson's setup cell does). In a Jupyter
    kernel each figure is then stored at twice the resolution it is shown at ("retina"), sharp
    on high-density screens and when zoomed, and one wider than the column is drawn at the
    column's width (`fit_width`).
    """
    plt.rcParams.update(
        {"figure.dpi": FIGURE_DPI, "font.size": FONT_SIZE, "axes.titlesize": "medium"}
    )
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing is shown inline
        return
    shell = get_ipython()
    if shell is not None:
        # Matplotlib starts the inline backend with its first figure, and that resets the PNG
        # formatter: start it now, then register ours.
        plt.close(plt.figure())
        shell.display_formatter.formatters["image/png"].for_type(Figure, _retina_png)


def _grid(count: int, ncols: int, size: float) -> tuple[Figure, np.ndarray]:
    if count < 1:
        raise ValueError("nothing to draw: got no images")
    ncols = max(1, min(ncols, count))
    nrows = math.ceil(count / ncols)
    figsize = (size * ncols, size * nrows + 0.4)
    # Constrained layout keeps every row's titles clear of the row above, suptitle included.
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, layout="constrained")
    for ax in axes.flat[count:]:
        ax.axis("off")
    return fig, axes


def show_images(
    images: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    suptitle: str | None = None,
    size: float = 1.6,
) -> Figure:
    """Draw images (each (height, width), (height, width, 1) or RGB) in a grid with titles."""
    images = list(images)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles")
    fig, axes = _grid(len(images), ncols, size)
    for i, (ax, image) in enumerate(zip(axes.flat, images, strict=False)):
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap=cmap if image.ndim == 2 else None)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def show_feature_maps(
    feature_maps: np.ndarray, title: str = "Feature maps", ncols: int = 8, size: float = 1.6
) -> Figure:
    """Draw each channel of (height, width, channels) or (1, height, width, channels) as a panel."""
    maps = np.asarray(feature_maps)
    if maps.ndim == 4:
        if maps.shape[0] != 1:
            raise ValueError(f"expected one image's feature maps, got a batch of {maps.shape[0]}")
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(f"expected (height, width, channels), got shape {maps.shape}")
    # Move the channel axis first so that each feature map is one 2-D picture.
    panels = np.moveaxis(maps, -1, 0)
    return show_images(
        panels,
        titles=[f"map {i}" for i in range(len(panels))],
        ncols=ncols,
        cmap="viridis",
        suptitle=f"{title} {maps.shape[:2]} x {maps.shape[2]}",
        size=size,
    )


def show_kernel(kernel: np.ndarray, title: str = "Kernel", ax: plt.Axes | None = None) -> Figure:
    """Draw a small 2-D array (a kernel, a toy image, an output) as an image with its numbers."""
    values = np.asarray(kernel, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"expected a 2-D array, got shape {values.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.6 * values.shape[1] + 1.2, 0.6 * values.shape[0] + 0.8))
    else:
        fig = ax.figure
    cmap = plt.get_cmap("coolwarm" if values.min() < 0 else "Blues")
    picture = ax.imshow(values, cmap=cmap)
    for (i, j), value in np.ndenumerate(values):
        red, green, blue, _ = cmap(picture.norm(value))
        # White numbers on dark cells, black on light ones (perceived brightness of the cell).
        color = "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"
        ax.text(j, i, f"{value:g}", ha="center", va="center", color=color, fontsize=10)
    ax.set_xticks(range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title)
    return fig
