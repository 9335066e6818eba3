"""helpers/plots.py: the figures have the panels and titles they promise, and refuse bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import plots


def test_show_images_titles_every_panel_and_hides_spare_axes():
    fig = plots.show_images([np.zeros((4, 4))] * 3, titles=["a", "b", "c"], ncols=2, suptitle="S")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["a", "b", "c"]
    assert fig._suptitle.get_text() == "S"
    assert not fig.axes[3].axison


def test_show_images_refuses_mismatched_titles_and_empty_input():
    with pytest.raises(ValueError, match="got 2 images but 1 titles"):
        plots.show_images([np.zeros((2, 2))] * 2, titles=["one"])
    with pytest.raises(ValueError, match="nothing to draw"):
        plots.show_images([])


def test_show_feature_maps_draws_one_panel_per_channel():
    fig = plots.show_feature_maps(np.random.rand(1, 14, 14, 5), ncols=5)
    assert [ax.get_title() for ax in fig.axes] == [f"map {i}" for i in range(5)]
    assert "(14, 14) x 5" in fig._suptitle.get_text()


def test_show_feature_maps_refuses_a_batch_and_wrong_ranks():
    with pytest.raises(ValueError, match="batch of 2"):
        plots.show_feature_maps(np.zeros((2, 4, 4, 3)))
    with pytest.raises(ValueError, match=r"expected \(height, width, channels\)"):
        plots.show_feature_maps(np.zeros((4, 4)))


def test_show_kernel_writes_every_value():
    fig = plots.show_kernel(np.array([[1, 0, -1]] * 3), title="vertical")
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == sorted(["1", "0", "-1"] * 3)
    assert fig.axes[0].get_title() == "vertical"
    with pytest.raises(ValueError, match="expected a 2-D array"):
        plots.show_kernel(np.zeros((2, 2, 2)))


@pytest.mark.parametrize("width_in", [5.0, 9.0, 12.0])
def test_a_figure_is_stored_at_2x_and_shown_no_wider_than_the_column(width_in):
    """The book's figures: 2x PNG, shown at most MAX_WIDTH_IN inches wide, a long suptitle
    broken into two lines rather than left past the column."""
    pytest.importorskip("IPython")
    fig, axes = plt.subplots(1, 3, figsize=(width_in, 3), layout="constrained")
    title = "Shifts of 1 and 2 pixels after 2x2 max pooling (red: changed cells), three panels"
    fig.suptitle(title)
    png, size = plots._retina_png(fig)
    plt.close(fig)
    stored = int.from_bytes(png[16:20], "big")  # the PNG header's width, in pixels
    assert abs(stored - 2 * size["width"]) <= 2, (stored, size)
    assert size["width"] <= plots.MAX_WIDTH_IN * plots.FIGURE_DPI
    assert fig._suptitle.get_text().replace("\n", " ") == title
