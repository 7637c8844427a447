"""Reproduce the shipped day shapes from the published figures (needs Pillow and the PNGs).

Not part of the planner: a record of how demand_shapes/*.yaml were read off public figures.
  azure: the PNG of cell 18 of analysis/AzureLLMInferenceDataset2024.ipynb (Azure/AzurePublicDataset
         at b469a113), one panel per service, 7 days, one blue line of invocations per minute;
  burstgpt: img/Fig3-4.png of HPMLL/BurstGPT at e92f533b, box plots of hourly request counts.
Usage: python digitise.py azure PANEL.png FIRST_WEEKDAY (0 = Monday)
       python digitise.py burstgpt Fig3-4.png
"""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image

BLUE = np.array([31, 119, 180])  # matplotlib's first line colour
BOX_FILL = np.array([31, 175, 223])
BOX_LINE = np.array([75, 75, 75])


def pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    idx = np.nonzero(mask)[0]
    if idx.size == 0:
        return []
    breaks = np.nonzero(np.diff(idx) > 1)[0]
    return list(zip(np.r_[idx[0], idx[breaks + 1]], np.r_[idx[breaks], idx[-1]], strict=True))


def axes_box(im: np.ndarray) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) pixel of the axes frame: the long dark lines."""
    dark = im.sum(axis=2) < 150
    h, w = dark.shape
    xs = np.nonzero(dark.sum(axis=0) > 0.3 * h)[0]
    ys = np.nonzero(dark.sum(axis=1) > 0.3 * w)[0]
    return int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())


def line_hourly(path: str, days: int = 7) -> np.ndarray:
    """Hourly mean height (px above the zero axis) of the blue line over `days` days."""
    im = pixels(path)
    left, right, top, bottom = axes_box(im)
    blue = (np.abs(im - BLUE) < 40).all(axis=2)
    xs, heights = [], []
    for x in range(left + 2, right - 1):
        ys = np.nonzero(blue[top + 2 : bottom - 1, x])[0]
        if ys.size:
            xs.append(x)
            heights.append(bottom - ((ys.min() + ys.max()) / 2 + top + 2))
    t_h = (np.array(xs, float) - left) / (right - left) * days * 24
    values = np.array(heights)
    return np.array([values[(t_h >= h) & (t_h < h + 1)].mean() for h in range(days * 24)])


def week_shape(hourly: np.ndarray, first_weekday: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean weekday and weekend day, relative to the weekday mean."""
    days = hourly.reshape(-1, 24)
    weekday = np.array([(first_weekday + d) % 7 < 5 for d in range(days.shape[0])])
    wd, we = days[weekday].mean(axis=0), days[~weekday].mean(axis=0)
    return wd / wd.mean(), we / wd.mean()


def box_medians(path: str, left: int, right: int, top: int, bottom: int) -> np.ndarray:
    """Medians of 24 equally spaced boxes, in the units of the first and last y tick."""
    im = pixels(path)
    fill = np.abs(im - BOX_FILL).sum(axis=2) < 30
    line = np.abs(im - BOX_LINE).sum(axis=2) < 30
    ticks = [int((a + b) / 2) for a, b in runs((im[:, left - 8 : left - 2].sum(2) < 200).all(1))]
    ticks = sorted([r for r in ticks if top - 5 <= r <= bottom + 5], reverse=True)
    width = (right - left) / 24
    out = []
    for i in range(24):
        centre = left + (i + 0.5) * width
        ys = []
        for x in (int(centre - 0.25 * width), int(centre + 0.25 * width)):
            box = np.nonzero(fill[top:bottom, x])[0]
            lines = runs(line[top:bottom, x])
            if box.size:
                inner = [(s, e) for s, e in lines if box.min() < s and e < box.max()]
                mid = np.mean(inner[len(inner) // 2]) if inner else (box.min() + box.max()) / 2
            else:  # a box squashed to a line
                mid = np.mean(lines[len(lines) // 2])
            ys.append(top + mid)
        out.append(np.mean(ys))
    return ticks[0] - np.array(out)  # px above the zero tick; scale cancels in a shape


if __name__ == "__main__":
    if sys.argv[1] == "azure":
        weekday, weekend = week_shape(line_hourly(sys.argv[2]), int(sys.argv[3]))
        print("weekday:", np.round(weekday, 3).tolist())
        print("weekend:", np.round(weekend, 3).tolist())
    else:  # the ChatGPT conversation panel of Fig3-4.png (3474 x 669 px)
        medians = box_medians(sys.argv[2], 206, 873, 57, 535)
        print("weekday:", np.round(medians / medians.mean(), 3).tolist())
