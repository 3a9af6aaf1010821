"""PNGs in the fewest channels that hold them exactly: the pixels never change."""

import io

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image
from torchvision.utils import save_image as tv_save_image

from genlab.images import compact_png, compact_png_file, figure_png, save_image


def png(pixels: np.ndarray, mode: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels, mode).save(out, format="png")
    return out.getvalue()


def rgba(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


@pytest.mark.parametrize(
    "pixels, mode, kept",
    [
        (np.repeat(np.arange(64, dtype=np.uint8).reshape(8, 8, 1), 3, axis=2), "RGB", "L"),
        (np.dstack([np.full((8, 8), v, np.uint8) for v in (10, 200, 30)]), "RGB", "RGB"),
        (np.dstack([np.full((8, 8), v, np.uint8) for v in (90, 90, 90, 255)]), "RGBA", "L"),
        (np.dstack([np.full((8, 8), v, np.uint8) for v in (10, 20, 30, 255)]), "RGBA", "RGB"),
        (np.dstack([np.full((8, 8), v, np.uint8) for v in (90, 90, 90, 128)]), "RGBA", "RGBA"),
    ],
)
def test_a_png_keeps_its_pixels_in_fewer_channels_where_that_is_exact(pixels, mode, kept):
    data = png(pixels, mode)
    compact = compact_png(data)
    assert Image.open(io.BytesIO(compact)).mode == kept
    assert np.array_equal(rgba(compact), rgba(data))
    assert compact_png(compact) == compact  # already compact: left as it is


def test_a_saved_grid_has_torchvisions_pixels_in_one_channel_and_fewer_bytes(tmp_path):
    images = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    save_image(images, tmp_path / "ours.png", nrow=4)
    tv_save_image(images, tmp_path / "torchvision.png", nrow=4)
    ours, theirs = (tmp_path / "ours.png").read_bytes(), (tmp_path / "torchvision.png").read_bytes()
    assert Image.open(io.BytesIO(ours)).mode == "L"
    assert np.array_equal(rgba(ours), rgba(theirs)) and len(ours) < len(theirs)
    compact_png_file(tmp_path / "torchvision.png")  # an image of a run saved before
    assert (tmp_path / "torchvision.png").read_bytes() == ours


def test_a_grey_figure_is_stored_in_one_channel():
    fig = Figure(figsize=(2, 2))
    ax = fig.add_subplot()
    ax.imshow(np.random.default_rng(0).random((28, 28)), cmap="gray")
    ax.set_title("grey")
    assert Image.open(io.BytesIO(figure_png(fig))).mode == "L"
    ax.plot([0, 27], [0, 27], color="tab:orange")
    assert Image.open(io.BytesIO(figure_png(fig))).mode == "RGB"
