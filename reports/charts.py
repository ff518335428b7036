"""Charts drawn on the server as inline SVG: no JavaScript library, and the printed page shows them."""

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".")  # Vietnamese thousands separator, readable in both languages


def progress_svg(
    series: Sequence[tuple[date, int]], target: float | None, title: str, target_label: str, empty_label: str
) -> Markup:
    """Cumulative progress per day as a line, the target (when there is one) as a dashed line. Every text
    given is escaped: a unit's or campaign's name typed by a leader never becomes markup."""
    top = max([value for _day, value in series] + [target or 0, 1])
    last = max(len(series) - 1, 1)

    def x(index: int) -> float:
        return LEFT + PLOT_WIDTH * index / last

    def y(value: float) -> float:
        return TOP + PLOT_HEIGHT * (1 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{LEFT}" y1="{TOP + PLOT_HEIGHT}" x2="{WIDTH - RIGHT}" y2="{TOP + PLOT_HEIGHT}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PLOT_HEIGHT}"/>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{_number(top)}</text>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + PLOT_HEIGHT}" text-anchor="end">0</text>',
    ]
    if target:
        parts.append(
            f'<line class="target" x1="{LEFT}" y1="{y(target):.1f}" x2="{WIDTH - RIGHT}" y2="{y(target):.1f}"/>'
            f'<text class="tick" x="{WIDTH - RIGHT}" y="{y(target) - 4:.1f}" text-anchor="end">'
            f"{escape(target_label)}</text>"
        )
    if not series:
        parts.append(f'<text class="tick" x="{LEFT + 8}" y="{TOP + PLOT_HEIGHT / 2:.1f}">{escape(empty_label)}</text>')
    else:
        points = " ".join(f"{x(index):.1f},{y(value):.1f}" for index, (_day, value) in enumerate(series))
        parts.append(f'<polyline class="progress-line" points="{points}"/>')
        bottom = HEIGHT - 12
        parts.append(f'<text class="tick" x="{LEFT}" y="{bottom}">{series[0][0]:%d/%m}</text>')
        parts.append(
            f'<text class="tick" x="{WIDTH - RIGHT}" y="{bottom}" text-anchor="end">{series[-1][0]:%d/%m}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
