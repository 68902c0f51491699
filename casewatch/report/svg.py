"""Hand-built inline SVG charts for the QA report: no library, no script, nothing fetched.

Why by hand: the report must open offline on a council laptop and print on A4. Four
chart kinds (a funnel, a p-chart, lines and stacked bars) are a few dozen lines of SVG
each; a plotting library would add a large dependency (and matplotlib's SVG embeds its
own fonts and ids) for no figure we need. Every chart is `role="img"` with a <title>
and a <desc> (the text alternative), and every mark carries a <title> with its figure.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 32, 16, 44
# Colours that stay apart for the common colour-vision deficiencies (Okabe and Ito).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")


@dataclass(frozen=True)
class Frame:
    """The plotting area: data ranges mapped onto pixels."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float

    def x(self, value: float) -> float:
        span = (self.x_max - self.x_min) or 1.0
        return round(LEFT + (value - self.x_min) / span * (WIDTH - LEFT - RIGHT), 1)

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1.0
        return round(HEIGHT - BOTTOM - (value - self.y_min) / span * (HEIGHT - TOP - BOTTOM), 1)


def _svg(chart_id: str, title: str, desc: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _axes(frame: Frame, x_ticks: Sequence[tuple[float, str]], y_ticks: Sequence[float], x_label: str,
          y_label: str) -> list[str]:  # fmt: skip
    parts = ['<g class="axes" font-size="11" fill="#333">']
    for value in y_ticks:
        y = frame.y(value)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{_percent(value)}</text>')  # fmt: skip
    for value, label in x_ticks:
        x = frame.x(value)
        parts.append(f'<text x="{x}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" stroke="#333"/>'
                 f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="#333"/>'
                 f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
                 f"{escape(x_label)}</text>"
                 f'<text transform="rotate(-90)" x="{-(TOP + HEIGHT - BOTTOM) / 2}" y="14" '
                 f'text-anchor="middle">{escape(y_label)}</text></g>')  # fmt: skip
    return parts


def _y_ticks(top: float) -> list[float]:
    step = 0.05 if top <= 0.3 else 0.1 if top <= 0.6 else 0.2
    count = int(top / step + 1e-9)
    return [round(i * step, 2) for i in range(count + 1)]


def _line(points: Sequence[tuple[float, float]], colour: str, css: str, dash: str = "") -> str:
    path = " ".join(f"{x},{y}" for x, y in points)
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline class="{css}" points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"{dashed}/>'


def _legend(items: Sequence[tuple[str, str, str]]) -> str:
    """(label, colour, dash) keys across the top right."""
    parts = ['<g class="legend" font-size="11">']
    x = WIDTH - RIGHT - 8
    for label, colour, dash in reversed(items):
        width = 30 + 6 * len(label)
        x -= width
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{x}" x2="{x + 20}" y1="{TOP + 6}" y2="{TOP + 6}" stroke="{colour}" stroke-width="2"'
                     f'{dashed}/><text x="{x + 24}" y="{TOP + 10}">{escape(label)}</text>')  # fmt: skip
    return "".join(parts) + "</g>"


def _label(x: float, y: float, text: str) -> str:
    """A mark's label beside it: to its left near the right edge, so it is not cut off."""
    if x > WIDTH * 0.7:
        return f'<text x="{x - 7}" y="{y}" font-size="10" text-anchor="end">{escape(text)}</text>'
    return f'<text x="{x + 7}" y="{y}" font-size="10">{escape(text)}</text>'


def funnel(chart_id: str, title: str, desc: str, limits: dict[str, list[dict[str, float]]], centre: float,
           points: Sequence[tuple[str, int, float]]) -> str:  # fmt: skip
    """Teams as (name, n, rate) against their n, with the limit curves around the centre."""
    top_n = max([p["n"] for curve in limits.values() for p in curve] + [n for _, n, _ in points] + [1])
    top_rate = max([p["upper"] for curve in limits.values() for p in curve] + [r for *_, r in points] + [0.1])
    frame = Frame(0, top_n, 0, min(1.0, top_rate * 1.1))
    body = _axes(frame, [(top_n * i / 4, f"{top_n * i / 4:.0f}") for i in range(5)], _y_ticks(frame.y_max),
                 "episodes closed by the team", "share re-referred")  # fmt: skip
    styles = {"95": ("#777", "5 3"), "99.8": ("#333", "2 2")}
    for level, curve in limits.items():
        colour, dash = styles.get(level, ("#777", ""))
        for side in ("lower", "upper"):
            body.append(_line([(frame.x(p["n"]), frame.y(p[side])) for p in curve], colour, f"limit-{side}", dash))
    body.append(_line([(frame.x(0), frame.y(centre)), (frame.x(top_n), frame.y(centre))], COLOURS[0], "centre"))
    for index, (name, n, rate) in enumerate(points):
        colour = COLOURS[(index + 1) % len(COLOURS)]
        body.append(f'<circle class="mark" cx="{frame.x(n)}" cy="{frame.y(rate)}" r="5" fill="{colour}">'
                    f"<title>{escape(name)}: {_percent(rate)} of {n}</title></circle>"
                    f"{_label(frame.x(n), frame.y(rate) - 6, name)}")  # fmt: skip
    body.append(_legend([("LA", COLOURS[0], ""), ("95%", "#777", "5 3"), ("99.8%", "#333", "2 2")]))
    return _svg(chart_id, title, desc, body)


def control_chart(chart_id: str, title: str, desc: str, months: Sequence[dict[str, object]], centre: float,
                  comparators: Sequence[tuple[str, float]]) -> str:  # fmt: skip
    """Monthly rates with the p-chart's centre and 3-sigma limits; comparators as dashed lines."""
    rates = [float(m["re_referral_rate"]) for m in months if m["referrals"]]  # type: ignore[arg-type]
    uppers = [float(m["upper"]) for m in months if m["referrals"]]  # type: ignore[arg-type]
    top = min(1.0, max([*rates, *uppers, *(r for _, r in comparators), 0.1]) * 1.1)
    frame = Frame(0, max(1, len(months) - 1), 0, top)
    step = max(1, len(months) // 8)
    ticks = [(i, str(m["month"])) for i, m in enumerate(months) if i % step == 0]
    body = _axes(frame, ticks, _y_ticks(top), "month of the referral", "re-referral rate")
    judged = [(i, m) for i, m in enumerate(months) if m["referrals"]]
    for side in ("lower", "upper"):
        body.append(_line([(frame.x(i), frame.y(float(m[side]))) for i, m in judged], "#333", f"limit-{side}",  # type: ignore[arg-type]
                          "2 2"))  # fmt: skip
    body.append(_line([(frame.x(0), frame.y(centre)), (frame.x(frame.x_max), frame.y(centre))], "#777", "centre"))
    legend = [("monthly rate", COLOURS[0], ""), ("3σ limits", "#333", "2 2")]
    for index, (name, rate) in enumerate(comparators):
        colour = COLOURS[(index + 1) % len(COLOURS)]
        body.append(_line([(frame.x(0), frame.y(rate)), (frame.x(frame.x_max), frame.y(rate))], colour, "comparator",
                          "6 3"))  # fmt: skip
        legend.append((name, colour, "6 3"))
    body.append(_line([(frame.x(i), frame.y(float(m["re_referral_rate"]))) for i, m in judged], COLOURS[0], "series"))  # type: ignore[arg-type]
    for i, m in judged:
        outside = bool(m["outside_limits"])
        body.append(f'<circle class="mark" cx="{frame.x(i)}" cy="{frame.y(float(m["re_referral_rate"]))}" '  # type: ignore[arg-type]
                    f'r="{5 if outside else 3.5}" fill="{COLOURS[4] if outside else COLOURS[0]}">'
                    f'<title>{m["month"]}: {m["re_referrals"]} of {m["referrals"]}'
                    f'{" (outside the limits)" if outside else ""}</title></circle>')  # fmt: skip
    body.append(_legend(legend))
    return _svg(chart_id, title, desc, body)


def lines(chart_id: str, title: str, desc: str, x_label: str, y_label: str,
          series: Sequence[tuple[str, Sequence[tuple[float, float | None]]]]) -> str:  # fmt: skip
    """Named series of (x, share) points; a None share leaves a gap."""
    xs = [x for _, points in series for x, _ in points] or [0.0, 1.0]
    ys = [y for _, points in series for _, y in points if y is not None]
    frame = Frame(min(xs), max(xs), 0, min(1.0, max([*ys, 0.1]) * 1.15))
    body = _axes(frame, [(x, f"{x:.0f}") for x in sorted(set(xs))], _y_ticks(frame.y_max), x_label, y_label)
    legend = []
    for index, (name, points) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        shown = [(x, y) for x, y in points if y is not None]
        body.append(_line([(frame.x(x), frame.y(y)) for x, y in shown], colour, "series"))
        body += [f'<circle class="mark" cx="{frame.x(x)}" cy="{frame.y(y)}" r="3" fill="{colour}">'
                 f"<title>{escape(name)}, {x:.0f}: {_percent(y)}</title></circle>" for x, y in shown]  # fmt: skip
        legend.append((name, colour, ""))
    body.append(_legend(legend))
    return _svg(chart_id, title, desc, body)


def stacked_bars(chart_id: str, title: str, desc: str, labels: Sequence[str],
                 stacks: Sequence[tuple[str, Sequence[int]]]) -> str:  # fmt: skip
    """One bar per label, stacked by the named series (counts)."""
    totals = [sum(values[i] for _, values in stacks) for i in range(len(labels))]
    top = max([*totals, 1])
    frame = Frame(-0.5, len(labels) - 0.5, 0, top * 1.15)
    step = max(1, len(labels) // 8)
    body = ['<g class="axes" font-size="11" fill="#333">']
    for i in range(5):
        value = top * i / 4
        y = frame.y(value)
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="#ddd"/>'
                    f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{value:.0f}</text>')  # fmt: skip
    body += [f'<text x="{frame.x(i)}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>'
             for i, label in enumerate(labels) if i % step == 0]  # fmt: skip
    body.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" text-anchor="middle">month</text>'
                f'<text transform="rotate(-90)" x="{-(TOP + HEIGHT - BOTTOM) / 2}" y="14" text-anchor="middle">alerts'
                "</text></g>")  # fmt: skip
    width = max(2.0, (WIDTH - LEFT - RIGHT) / max(1, len(labels)) * 0.7)
    for i, label in enumerate(labels):
        base = 0
        for index, (name, values) in enumerate(stacks):
            value = values[i]
            if value:
                y_top, y_base = frame.y(base + value), frame.y(base)
                body.append(f'<rect class="mark" x="{frame.x(i) - width / 2:.1f}" y="{y_top}" width="{width:.1f}" '
                            f'height="{round(y_base - y_top, 1)}" fill="{COLOURS[index % len(COLOURS)]}">'
                            f"<title>{escape(label)} {escape(name)}: {value}</title></rect>")  # fmt: skip
            base += value
    body.append(_legend([(name, COLOURS[i % len(COLOURS)], "") for i, (name, _) in enumerate(stacks)]))
    return _svg(chart_id, title, desc, body)
