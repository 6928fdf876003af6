"""/usage as a picture: minutes of speech per day, stacked by engine, as a small PNG.

Drawn with Pillow's own scalable default font, so it needs no font file; the labels are dates,
numbers and engine names (the caption carries the words, in the user's language).
"""

from __future__ import annotations

import io
import time
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 760, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 44
#: engine colours in order of appearance (colour-blind-safe Okabe–Ito set)
PALETTE = ((0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233), (213, 94, 0))
DAY = 86_400


def _nice_step(top: float) -> float:
    """A round grid step giving 3–6 lines up to ``top``."""
    for step in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if top / step <= 6:
            return float(step)
    return top / 5


def usage_chart(rows: Sequence[tuple[float, str, float]], days: int, now: float | None = None) -> bytes:
    """PNG of ``rows`` — (UTC day start, engine, seconds of speech) — over the last ``days`` days."""
    now = time.time() if now is None else now
    first = (now // DAY - days + 1) * DAY
    engines: list[str] = []
    minutes = [dict[str, float]() for _ in range(days)]
    for day, engine, seconds in rows:
        index = int((day - first) // DAY)
        if 0 <= index < days:
            if engine not in engines:
                engines.append(engine)
            minutes[index][engine] = minutes[index].get(engine, 0.0) + seconds / 60
    top = max([sum(m.values()) for m in minutes] + [1.0])
    step = _nice_step(top)
    top = step * (int(top / step) + 1)

    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=14), ImageFont.load_default(size=11)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    draw.text((LEFT, 10), f"minutes of speech per day, last {days} days (UTC)", fill="black", font=font)
    for k in range(int(top / step) + 1):  # grid and axis labels
        y = TOP + plot_h - k * step / top * plot_h
        draw.line((LEFT, y, WIDTH - RIGHT, y), fill=(225, 225, 225))
        draw.text((LEFT - 6, y), f"{k * step:g}", fill="black", font=small, anchor="rm")
    slot = plot_w / days
    for i, totals in enumerate(minutes):
        x0, base = LEFT + i * slot + slot * 0.15, float(TOP + plot_h)
        for engine in engines:  # stacked in a fixed order, so colours line up day to day
            height = totals.get(engine, 0.0) / top * plot_h
            if height > 0:
                colour = PALETTE[engines.index(engine) % len(PALETTE)]
                draw.rectangle((x0, base - height, x0 + slot * 0.7, base), fill=colour)
                base -= height
        if i % 5 == 0 or i == days - 1:
            label = time.strftime("%m-%d", time.gmtime(first + i * DAY))
            draw.text((LEFT + i * slot + slot / 2, TOP + plot_h + 6), label, fill="black", font=small, anchor="mt")
    draw.line((LEFT, TOP + plot_h, WIDTH - RIGHT, TOP + plot_h), fill="black")
    x = LEFT
    for n, engine in enumerate(engines):  # legend
        draw.rectangle((x, HEIGHT - 16, x + 10, HEIGHT - 6), fill=PALETTE[n % len(PALETTE)])
        draw.text((x + 14, HEIGHT - 11), engine, fill="black", font=small, anchor="lm")
        x += 24 + int(draw.textlength(engine, font=small))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
