#!/usr/bin/env python3
"""Writes the soak plot as a plain SVG (Python 3 standard library only).

    scripts/soak_plot.py soak.csv soak.svg     # re-plot a finished run

Four panels against minutes: RSS per node, open fds per node, latency
(publish, local search, federated search; p50 solid, p99 dashed) and sync lag
(p50, max). Used by scripts/soak.py after every sample.
"""
import csv
import sys

WIDTH, PANEL_H, LEFT, RIGHT, TOP, GAP = 760, 170, 70, 170, 30, 50
COLOURS = {"A": "#1f77b4", "B": "#ff7f0e", "C": "#2ca02c", "publish": "#1f77b4",
           "search": "#2ca02c", "federated": "#d62728", "lag": "#9467bd"}


def _num(value):
    if value in (None, ""):
        return None
    return float(value)


def _panel(y0, title, unit, series, minutes):
    """One panel; series: [(label, colour, dashed, values)]. Gaps where a value is None."""
    values = [v for _, _, _, vs in series for v in vs if v is not None]
    top = max(values) * 1.1 if values and max(values) > 0 else 1.0
    x_max = max(minutes) if minutes and max(minutes) > 0 else 1.0
    plot_w = WIDTH - LEFT - RIGHT
    sx = lambda m: LEFT + plot_w * m / x_max  # noqa: E731
    sy = lambda v: y0 + PANEL_H - PANEL_H * v / top  # noqa: E731
    out = [f'<text x="{LEFT}" y="{y0 - 8}" font-weight="bold">{title} ({unit})</text>',
           f'<rect x="{LEFT}" y="{y0}" width="{plot_w}" height="{PANEL_H}" fill="none" stroke="#888"/>']
    for i in range(5):
        v = top * i / 4
        y = sy(v)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{v:.4g}</text>')
    for m in minutes:
        out.append(f'<text x="{sx(m):.1f}" y="{y0 + PANEL_H + 14}" text-anchor="middle">{m:g}</text>')
    for n, (label, colour, dashed, vs) in enumerate(series):
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        segment = []
        for m, v in list(zip(minutes, vs)) + [(None, None)]:
            if v is None:
                if len(segment) > 1:
                    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                    out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
                for x, y in segment:
                    out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
                segment = []
            else:
                segment.append((sx(m), sy(v)))
        ly = y0 + 12 + n * 16
        lx = LEFT + plot_w + 12
        out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 22}" y2="{ly - 4}" stroke="{colour}" '
                   f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 28}" y="{ly}">{label}</text>')
    return out


def write_svg(rows, path):
    minutes = [_num(r["minute"]) for r in rows]
    col = lambda key: [_num(r.get(key)) for r in rows]  # noqa: E731
    panels = [
        ("Resident memory per node", "MiB",
         [(f"node {l}", COLOURS[l], False, col(f"rss_mb_{l}")) for l in "ABC"]),
        ("Open file descriptors per node", "count",
         [(f"node {l}", COLOURS[l], False, col(f"fds_{l}")) for l in "ABC"]),
        ("CLI call latency (p50 solid, p99 dashed)", "ms",
         [(f"{name} {p}", COLOURS[name], p == "p99", col(f"{name}_{p}_ms"))
          for name in ("publish", "search", "federated") for p in ("p50", "p99")]),
        ("Sync lag A to C and C to A, through B", "ms",
         [("lag p50", COLOURS["lag"], False, col("lag_p50_ms")),
          ("lag max", COLOURS["lag"], True, col("lag_max_ms"))]),
    ]
    height = TOP + len(panels) * (PANEL_H + GAP) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-size="13">Liaison soak: '
           f'3 nodes, B restarted every minute (x axis: minutes)</text>']
    for i, (title, unit, series) in enumerate(panels):
        out += _panel(TOP + 14 + i * (PANEL_H + GAP), title, unit, series, minutes)
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: soak_plot.py SOAK_CSV OUT_SVG")
    with open(sys.argv[1]) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{sys.argv[1]}: no rows")
    write_svg(rows, sys.argv[2])


if __name__ == "__main__":
    main()
