"""Charts drawn as SVG text: the cost stack, the HBM fit, a curve, a tornado.

Each function returns one ``<svg>`` element sized by its ``viewBox`` (so it scales with
the page) with every label escaped; colours come from the one palette below, chosen to
stay apart for the common kinds of colour blindness.
"""

from __future__ import annotations

import math
from html import escape

from costgraph.units import format_number

PALETTE = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb",
           "#332288", "#999933", "#882255")
INK, MUTED, GRID, BAD = "#222222", "#666666", "#dddddd", "#c62828"
FONT = 'font-family="system-ui, sans-serif"'


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
            f'role="img" aria-label="{escape(label)}" class="chart">'
            f"<title>{escape(label)}</title>{''.join(body)}</svg>")


def _text(x, y, text, size=12, anchor="start", fill=INK, extra="") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{fill}" {FONT} {extra}>{escape(str(text))}</text>')


def stack_bar(parts: list[tuple[str, float, str]], unit: str, title: str,
              links: dict[str, str] | None = None, scale: float = 0.0) -> str:
    """One horizontal bar split into ``parts`` (label, value, value text), with a legend.

    ``scale`` is the total the full width stands for (default: this bar's own total), so
    that bars drawn side by side compare.
    """
    width, bar_y, bar_h = 640, 10, 34
    own = sum(max(v, 0.0) for _, v, _ in parts) or 1.0
    total = max(scale, own)
    body, x = [], 0.0
    for i, (label, value, shown) in enumerate(parts):
        w = max(value, 0.0) / total * width
        colour = PALETTE[i % len(PALETTE)]
        rect = (f'<rect x="{x:.2f}" y="{bar_y}" width="{w:.2f}" height="{bar_h}" '
                f'fill="{colour}"><title>{escape(f"{label}: {shown}")}</title></rect>')
        body.append(rect)
        x += w
    rows = math.ceil(len(parts) / 2)
    for i, (label, value, shown) in enumerate(parts):
        col, row = divmod(i, rows)
        lx, ly = col * width / 2, bar_y + bar_h + 24 + row * 20
        share = f"{value / own:.0%}"
        body.append(f'<rect x="{lx:.1f}" y="{ly - 11:.1f}" width="12" height="12" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"/>')
        item = _text(lx + 18, ly, f"{label}  {shown}  ({share})")
        href = (links or {}).get(label)
        body.append(f'<a href="{escape(href)}">{item}</a>' if href else item)
    height = bar_y + bar_h + 24 + rows * 20
    return _svg(width, height, body, f"{title} ({unit})")


def fit_bar(parts: list[tuple[str, float]], limit: float, unit: str, holds: bool,
            title: str) -> str:
    """What is needed, split into parts, against the limit (a line); red when over it."""
    width, bar_y, bar_h = 640, 22, 26
    need = sum(v for _, v in parts)
    scale = width / max(need, limit, 1e-300) * 0.96
    body, x = [], 0.0
    for i, (label, value) in enumerate(parts):
        w = value * scale
        colour = BAD if not holds and i == len(parts) - 1 else PALETTE[(i + 4) % len(PALETTE)]
        body.append(f'<rect x="{x:.2f}" y="{bar_y}" width="{w:.2f}" height="{bar_h}" '
                    f'fill="{colour}"><title>{escape(label)}: {format_number(value)} '
                    f'{escape(unit)}</title></rect>')
        if w > 90:
            body.append(_text(x + 6, bar_y + 17, label, 11, fill="#ffffff"))
        x += w
    lx = limit * scale
    body.append(f'<line x1="{lx:.2f}" x2="{lx:.2f}" y1="{bar_y - 8}" y2="{bar_y + bar_h + 8}" '
                f'stroke="{INK}" stroke-width="2" stroke-dasharray="4 2"/>')
    anchor = "end" if lx > width * 0.7 else "start"
    body.append(_text(lx + (-4 if anchor == "end" else 4), bar_y - 10,
                      f"usable {format_number(limit)} {unit}", 11, anchor))
    verdict = "fits" if holds else "does not fit"
    body.append(_text(0, bar_y + bar_h + 22,
                      f"needs {format_number(need)} {unit}: {verdict} "
                      f"({need / limit:.0%} of usable)" if limit else verdict, 12,
                      fill=INK if holds else BAD))
    return _svg(width, bar_y + bar_h + 30, body, title)


def _ticks(lo: float, hi: float, log: bool, n: int = 5) -> list[float]:
    if log and lo > 0:
        a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        step = max(1, (b - a) // n)
        return [10.0 ** e for e in range(a, b + 1, step) if lo <= 10.0 ** e <= hi] or [lo, hi]
    if hi == lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def line_chart(xs, ys, ok, x_label: str, y_label: str, title: str, log_x: bool = False) -> str:
    """``ys`` against ``xs``: a line through every point, hollow marks where ``ok`` is false."""
    width, height, left, right, top, bottom = 640, 320, 70, 16, 24, 44
    pts = [(float(x), float(y), bool(k)) for x, y, k in zip(xs, ys, ok)
           if math.isfinite(float(y)) and math.isfinite(float(x)) and (not log_x or x > 0)]
    if not pts:
        return _svg(width, 60, [_text(10, 30, "no finite values to draw")], title)
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(0.0, min(p[1] for p in pts)), max(p[1] for p in pts)
    y1 = y1 if y1 > y0 else y0 + 1

    def fx(x):
        if log_x and x0 > 0:
            span = math.log10(x1 / x0) or 1
            return left + (math.log10(x / x0) / span) * (width - left - right)
        return left + ((x - x0) / ((x1 - x0) or 1)) * (width - left - right)

    def fy(y):
        return top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom)

    body = []
    for t in _ticks(y0, y1, False):
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{fy(t):.1f}" y2="{fy(t):.1f}" '
                    f'stroke="{GRID}"/>')
        body.append(_text(left - 6, fy(t) + 4, format_number(t), 11, "end", MUTED))
    for t in _ticks(x0, x1, log_x):
        body.append(_text(fx(t), height - bottom + 16, format_number(t), 11, "middle", MUTED))
    path = " ".join(f"{'M' if i == 0 else 'L'}{fx(x):.1f},{fy(y):.1f}"
                    for i, (x, y, _) in enumerate(pts))
    body.append(f'<path d="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
    for x, y, good in pts if len(pts) <= 200 else [p for p in pts if not p[2]][:400]:
        fill = PALETTE[0] if good else "#ffffff"
        stroke = PALETTE[0] if good else BAD
        body.append(f'<circle cx="{fx(x):.1f}" cy="{fy(y):.1f}" r="3" fill="{fill}" '
                    f'stroke="{stroke}"><title>{escape(x_label)} {format_number(x)}: '
                    f'{format_number(y)}{"" if good else " (breaks a constraint)"}'
                    f'</title></circle>')
    body.append(f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" '
                f'y2="{height - bottom}" stroke="{INK}"/>')
    body.append(_text((left + width - right) / 2, height - 6, x_label, 12, "middle"))
    body.append(_text(14, top + (height - top - bottom) / 2, y_label, 12, "middle",
                      extra=f'transform="rotate(-90 14 {top + (height - top - bottom) / 2:.1f})"'))
    return _svg(width, height, body, title)


def bar_chart(labels, ys, ok, y_label: str, title: str) -> str:
    """One bar per label (a sweep over presets); a hatched red outline where ``ok`` is false."""
    width, left, right, top, bottom = 640, 70, 16, 24, 44
    values = [float(y) if math.isfinite(float(y)) else 0.0 for y in ys]
    hi = max(values + [0.0]) or 1.0
    slot = (width - left - right) / max(len(values), 1)
    height = 280

    def fy(y):
        return top + (1 - y / hi) * (height - top - bottom)

    body = []
    for t in _ticks(0.0, hi, False):
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{fy(t):.1f}" y2="{fy(t):.1f}" '
                    f'stroke="{GRID}"/>')
        body.append(_text(left - 6, fy(t) + 4, format_number(t), 11, "end", MUTED))
    for i, (label, y, good) in enumerate(zip(labels, values, ok)):
        x = left + i * slot + slot * 0.15
        stroke = "" if good else f' stroke="{BAD}" stroke-width="2" stroke-dasharray="4 2"'
        body.append(f'<rect x="{x:.1f}" y="{fy(y):.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{fy(0) - fy(y):.1f}" fill="{PALETTE[0] if good else "#f4c7c3"}"'
                    f'{stroke}><title>{escape(str(label))}: {format_number(y)}'
                    f'{"" if good else " (breaks a constraint)"}</title></rect>')
        body.append(_text(x + slot * 0.35, height - bottom + 16, label, 11, "middle"))
    body.append(_text(14, top + (height - top - bottom) / 2, y_label, 12, "middle",
                      extra=f'transform="rotate(-90 14 {top + (height - top - bottom) / 2:.1f})"'))
    return _svg(width, height, body, title)


def tornado(rows: list[tuple[str, float, float, str]], base: float, unit: str,
            title: str) -> str:
    """One bar per input from the target at its low end to its high end, around ``base``.

    ``rows`` are (input, target at low, target at high, range text), widest swing first.
    """
    width, left, right, row_h, top = 640, 190, 20, 26, 28
    if not rows:
        return _svg(width, 40, [_text(8, 24, "no input of this quantity has a stated range")],
                    title)
    lo = min(min(a, b) for _, a, b, _ in rows + [("", base, base, "")])
    hi = max(max(a, b) for _, a, b, _ in rows + [("", base, base, "")])
    span = (hi - lo) or 1.0

    def fx(v):
        return left + (v - lo) / span * (width - left - right)

    body = [_text(fx(base), 14, f"{format_number(base)} {unit}", 11, "middle", MUTED)]
    for i, (name, at_low, at_high, shown) in enumerate(rows):
        y = top + i * row_h
        for value, colour in ((at_low, PALETTE[0]), (at_high, PALETTE[1])):
            a, b = sorted((fx(base), fx(value)))
            body.append(f'<rect x="{a:.1f}" y="{y}" width="{max(b - a, 1):.1f}" '
                        f'height="{row_h - 8}" fill="{colour}"><title>{escape(name)} '
                        f'at {"low" if colour == PALETTE[0] else "high"}: '
                        f'{format_number(value)} {escape(unit)}</title></rect>')
        body.append(_text(left - 8, y + 13, name, 12, "end"))
        body.append(_text(left - 8, y + 24, shown, 9, "end", MUTED))
    bottom = top + len(rows) * row_h
    body.append(f'<line x1="{fx(base):.1f}" x2="{fx(base):.1f}" y1="{top - 6}" y2="{bottom}" '
                f'stroke="{INK}"/>')
    body.append(_text(left, bottom + 16, "■ input at its low end", 11, fill=PALETTE[0]))
    body.append(_text(left + 180, bottom + 16, "■ input at its high end", 11, fill=PALETTE[1]))
    return _svg(width, bottom + 24, body, title)
