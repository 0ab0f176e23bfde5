#!/usr/bin/env python3
"""Turns the benchmark's raw JSON lines into a table, JSON, an SVG chart and
PASS/MISS lines for the project's performance targets.

    bench-report.py --raw DIR --out DIR [--mode short|long]

DIR holds <contestant>.<run>.jsonl files written by ww_bench / ww_floor.
Only the Python standard library is used.
"""
import argparse
import datetime
import glob
import json
import math
import os
import platform
import statistics
import sys

ORDER = ["floor-uffd", "floor-untracked", "wine", "wine-writewatch", "wine10", "wine10-writewatch",
         "wine11", "wine11-writewatch", "writewatch-kernel", "writewatch-fault"]
SHORT = {"floor-uffd": "floor", "floor-untracked": "untracked", "wine": "wine8",
         "wine-writewatch": "wine8+ww", "wine10": "wine10", "wine10-writewatch": "wine10+ww",
         "wine11": "wine11", "wine11-writewatch": "wine11+ww", "writewatch-kernel": "kernel",
         "writewatch-fault": "fault"}
COLORS = {"floor-uffd": "#2ca02c", "floor-untracked": "#8c8c8c", "wine": "#d62728",
          "wine-writewatch": "#9467bd", "wine10": "#e377c2", "wine10-writewatch": "#7f4f9f",
          "wine11": "#bcbd22", "wine11-writewatch": "#17becf", "writewatch-kernel": "#1f77b4",
          "writewatch-fault": "#ff7f0e"}
FLOOR = "floor-uffd"
WINE = "wine"
PATCHED = "wine-writewatch"  # Wine 8 with the wine-patches/ series: tracks through writewatch
# Each Wine with the series, and the same Wine without it: Wine 8 and 10
# keep write watches by protecting pages, Wine 11 with its own userfaultfd path.
STOCK_OF = {PATCHED: WINE, "wine10-writewatch": "wine10", "wine11-writewatch": "wine11"}
# Wine 11 + writewatch against Wine 11's own kernel path: within this factor
# in every cell of UPSTREAM_MEASURES.
UPSTREAM_LIMIT = 1.05
UPSTREAM_MEASURES = ("first_write", "first_touch", "gww_reset", "drain_reset", "drain_walk", "wine_write", "wine_gww")
KERNEL = "writewatch-kernel"
FAULT = "writewatch-fault"
# Sizes (pages) at which the kernel backend must stay within KERNEL_LIMIT of
# the bare kernel calls, for every scan measure and dirty fraction.
KERNEL_SIZES = (128, 1024, 16384)
KERNEL_LIMIT = 1.10
FIRST_WRITE_LIMIT = 1.05

MEASURE_ORDER = ["first_write", "first_touch", "gww", "gww_reset", "reset", "drain_reset",
                 "drain_walk", "wine_write", "wine_gww", "mem_alloc", "mem_used", "mem_rss", "mem_lib"]
LABEL = {
    "first_write": "first write, resident clean page",
    "first_touch": "first write, fresh page (+populate)",
    "gww": "GetWriteWatch",
    "gww_reset": "GetWriteWatch+RESET",
    "reset": "ResetWriteWatch",
    "drain_reset": "drain GWW+RESET",
    "drain_walk": "walk GWW (no reset)",
    "wine_write": "wine fmt: write",
    "wine_gww": "wine fmt: GetWriteWatch",
    "mem_alloc": "lib heap after alloc",
    "mem_used": "lib heap after use",
    "mem_rss": "RSS growth after alloc",
    "mem_lib": "lib memory, self-reported",
}


def size_label(pages):
    b = pages * 4096
    for unit, div in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if b >= div and b % div == 0:
            return f"{pages}p/{b // div}{unit}"
    return f"{pages}p"


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def load(raw):
    recs = []
    for path in sorted(glob.glob(os.path.join(raw, "*.jsonl"))):
        base = os.path.basename(path)[:-len(".jsonl")]
        contestant, _, run = base.rpartition(".")
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue
                r["contestant"] = contestant
                r["run"] = run
                recs.append(r)
    return recs


def key_of(r):
    variant = ""
    if "chunk" in r:
        variant = f"chunk={r['chunk']}"
    elif "config" in r:
        variant = r["config"]
    return (r["measure"], int(r["pages"]), float(r["dirty"]), variant)


def sort_key(k):
    m, pages, dirty, variant = k
    mi = MEASURE_ORDER.index(m) if m in MEASURE_ORDER else 99
    vnum = [int(x) for x in variant.replace("chunk=", "").split() if x.isdigit()]
    return (mi, pages, dirty, vnum)


def aggregate(recs):
    groups = {}
    units = {}
    extras = {}
    for r in recs:
        k = key_of(r)
        units[k] = r["unit"]
        g = groups.setdefault(k, {}).setdefault(r["contestant"], {"values": [], "ok": True})
        g["values"].append(float(r["value"]))
        g["ok"] = g["ok"] and bool(r.get("ok", True))
        if r["measure"].startswith("mem_"):
            extras.setdefault(k, {}).setdefault(r["contestant"], []).append(
                {x: r[x] for x in r if x.startswith(("heap_", "rss_", "lib_", "pages_written"))})
    rows = []
    for k in sorted(groups, key=sort_key):
        by = {}
        for c, g in groups[k].items():
            v = g["values"]
            by[c] = {"median": statistics.median(v), "min": min(v), "max": max(v),
                     "runs": len(v), "ok": g["ok"], "values": v}
        for c, s in by.items():
            f = by.get(FLOOR)
            w = by.get(WINE)
            s["ratio_floor"] = (s["median"] / f["median"]) if f and f["median"] > 0 else None
            s["ratio_wine"] = (s["median"] / w["median"]) if w and w["median"] > 0 else None
            st = by.get(STOCK_OF.get(c))
            s["ratio_stock"] = (s["median"] / st["median"]) if st and st["median"] > 0 else None
        m, pages, dirty, variant = k
        row = {"measure": m, "label": LABEL.get(m, m), "pages": pages, "bytes": pages * 4096,
               "dirty": dirty, "variant": variant, "unit": units[k], "by_contestant": by}
        if k in extras:
            row["memory_detail"] = extras[k]
        rows.append(row)
    return rows


# ------------------------------------------------------------------ targets

def targets(rows, contestants, failed=()):
    out = []

    def add(name, status, detail, misses=None):
        out.append({"target": name, "status": status, "detail": detail, "misses": misses or []})

    def get(row, c):
        return row["by_contestant"].get(c)

    def compare(select, num, den, limit, describe):
        """Over the rows select() keeps where both contestants were measured:
        how many, the description of the worst num/den median ratio (the
        first one, on a tie), and the descriptions of those above limit."""
        n, worst, misses = 0, None, []
        for row in rows:
            if not select(row):
                continue
            a, b = get(row, num), get(row, den)
            if not a or not b:
                continue
            n += 1
            r = a["median"] / b["median"]
            desc = describe(row, a, b, r)
            if worst is None or r > worst[0]:
                worst = (r, desc)
            if r > limit:
                misses.append(desc)
        return n, worst[1] if worst else None, misses

    def ratio_target(name, num, den, limit, select, describe, missing,
                     summary=lambda n, worst, misses, limit: f"{n} cells, worst {worst}, "
                                                              f"{len(misses)} over {limit:.2f}x"):
        """The target 'num / den <= limit in every selected row': PASS or
        MISS with summary(...) as detail, SKIP (missing) when either
        contestant was not measured."""
        if num not in contestants or den not in contestants:
            add(name, "SKIP", missing)
            return
        n, worst, misses = compare(select, num, den, limit, describe)
        if n:
            add(name, "MISS" if misses else "PASS", summary(n, worst, misses, limit), misses)
        else:
            add(name, "SKIP", "no common measurements")

    # 1. kernel scans within KERNEL_LIMIT of the bare-ioctl floor at KERNEL_SIZES.
    name = (f"kernel backend GetWriteWatch, GWW+RESET, ResetWriteWatch and drains <= {KERNEL_LIMIT:.2f}x "
            f"bare PAGEMAP_SCAN floor at {', '.join(map(str, KERNEL_SIZES))} pages")
    ratio_target(
        name, KERNEL, FLOOR, KERNEL_LIMIT,
        lambda row: (row["measure"] in ("gww", "gww_reset", "reset") and row["pages"] in KERNEL_SIZES)
        or row["measure"] in ("drain_reset", "drain_walk"),
        lambda row, k, f, r: f"{LABEL[row['measure']]} {size_label(row['pages'])} "
                             f"{row['variant'] or 'dirty %g' % row['dirty']}: "
                             f"{fmt(k['median'])} vs {fmt(f['median'])} ns/page = {r:.2f}x"
                             f" (best runs: {k['min'] / f['min']:.2f}x)",
        "kernel backend or floor not measured")

    # 2. first write within FIRST_WRITE_LIMIT of bare uffd.
    name = f"kernel backend first-write cost <= {FIRST_WRITE_LIMIT:.2f}x bare uffd floor"
    row = next((r for r in rows if r["measure"] == "first_write"), None)
    k = get(row, KERNEL) if row else None
    f = get(row, FLOOR) if row else None
    if k and f:
        r = k["median"] / f["median"]
        add(name, "PASS" if r <= FIRST_WRITE_LIMIT else "MISS",
            f"{fmt(k['median'])} vs {fmt(f['median'])} ns/page = {r:.2f}x"
            f" (best runs: {fmt(k['min'])} vs {fmt(f['min'])} = {k['min'] / f['min']:.2f}x)")
    else:
        add(name, "SKIP", "kernel backend or floor not measured")

    # 3. kernel first write at least 4x cheaper than Wine 8.
    name = "kernel backend first-write cost >= 4x lower than Wine 8"
    w = get(row, WINE) if row else None
    if k and w:
        r = w["median"] / k["median"]
        add(name, "PASS" if r >= 4 else "MISS",
            f"wine {fmt(w['median'])} / kernel {fmt(k['median'])} ns/page = {r:.1f}x lower"
            + (f"; bare uffd floor itself is {w['median'] / f['median']:.1f}x lower than wine" if f else ""))
    else:
        add(name, "SKIP", "kernel backend or Wine not measured")

    # 4. fault backend no slower than Wine 8 on any measure.
    name = "fault backend no slower than Wine 8 on any measure (medians)"
    ratio_target(
        name, FAULT, WINE, 1.0,
        lambda row: not get(row, WINE) or get(row, WINE)["median"] > 0,
        lambda row, fa, wi, r: f"{LABEL.get(row['measure'], row['measure'])} {size_label(row['pages'])}"
                               f"{' dirty %g' % row['dirty'] if row['measure'] in ('gww', 'gww_reset', 'reset') else ''}"
                               f"{' ' + row['variant'] if row['variant'] else ''}: "
                               f"{fmt(fa['median'])} vs {fmt(wi['median'])} {row['unit']} = {r:.2f}x"
                               f" (best runs: {fa['min'] / wi['min']:.2f}x)",
        "fault backend or Wine not measured",
        lambda n, worst, misses, limit: f"{n} measures, {len(misses)} slower, worst {worst}")

    # 5. the Wines that protect pages, with the series: first write >= 4x
    # cheaper than without it and within 1.5x of the native library;
    # GWW+RESET within 1.3x of native.
    first = next((r for r in rows if r["measure"] == "first_write"), None)
    for patched, stock in ((PATCHED, WINE), ("wine10-writewatch", "wine10")):
        if patched not in contestants:
            continue
        name = (f"{SHORT[patched]}: first write >= 4x cheaper than {SHORT[stock]} "
                "and <= 1.5x the native library")
        p, w, k = (get(first, c) if first else None for c in (patched, stock, KERNEL))
        if p and w and k:
            cheaper, vs_native = w["median"] / p["median"], p["median"] / k["median"]
            add(name, "PASS" if cheaper >= 4 and vs_native <= 1.5 else "MISS",
                f"{SHORT[stock]} {fmt(w['median'])}, {SHORT[patched]} {fmt(p['median'])}, "
                f"native {fmt(k['median'])} ns/page: "
                f"{cheaper:.1f}x cheaper than {SHORT[stock]}, {vs_native:.2f}x native")
        else:
            add(name, "SKIP", f"{SHORT[patched]}, {SHORT[stock]} or the kernel backend not measured")
    name = "Wine 8 + writewatch: GetWriteWatch+RESET <= 1.3x the native library at every size"
    ratio_target(
        name, PATCHED, KERNEL, 1.3,
        lambda row: row["measure"] == "gww_reset",
        lambda row, a, b, r: f"{size_label(row['pages'])} dirty {row['dirty']:g}: {fmt(a['median'])} vs "
                             f"{fmt(b['median'])} ns/page = {r:.2f}x (best runs: {a['min'] / b['min']:.2f}x)",
        "patched Wine or the kernel backend not measured",
        lambda n, worst, misses, limit: f"{n} cells, worst {worst}, {len(misses)} over {limit:g}x")

    # 6. Wine 11 + writewatch against Wine 11's own userfaultfd path.
    name = (f"wine11+ww <= {UPSTREAM_LIMIT:.2f}x Wine 11's own kernel path in every cell "
            "(first write, GWW+RESET, drains, Wine-format runs)")
    ratio_target(
        name, "wine11-writewatch", "wine11", UPSTREAM_LIMIT,
        lambda row: row["measure"] in UPSTREAM_MEASURES,
        lambda row, a, b, r: f"{LABEL.get(row['measure'], row['measure'])} {size_label(row['pages'])}"
                             f"{' dirty %g' % row['dirty'] if row['measure'] == 'gww_reset' else ''}"
                             f"{' ' + row['variant'] if row['variant'] else ''}: "
                             f"{fmt(a['median'])} vs {fmt(b['median'])} {row['unit']} = {r:.2f}x"
                             f" (best runs: {a['min'] / b['min']:.2f}x)",
        "Wine 11 or Wine 11 + writewatch not measured")

    # 7. memory per watched GiB vs 1 byte per page: the measured heap growth
    # (after alloc and after use) must stay within 1 byte per page plus 5% for
    # fixed per-allocation records; RSS and the library's own figure are shown.
    for c in (KERNEL, FAULT):
        name = f"{SHORT[c]} backend: library memory per watched page ~ 1 byte (heap <= 1.05 B/page)"
        mrows = [r for r in rows if r["measure"] in ("mem_alloc", "mem_used", "mem_rss", "mem_lib") and get(r, c)]
        if not mrows:
            add(name, "SKIP", f"{c} not measured")
            continue
        parts, bad = [], False
        for r in mrows:
            s = get(r, c)
            parts.append(f"{r['measure']} {s['median']:.3f} B/page = {s['median'] * 262144 / 1024:.0f} KiB/GiB")
            if r["measure"] in ("mem_alloc", "mem_used"):
                bad = bad or s["median"] > 1.05
        add(name, "MISS" if bad else "PASS", "; ".join(parts))

    # Wrong answers anywhere invalidate the timing.
    bad = [f"{c} {r['measure']} {size_label(r['pages'])} dirty {r['dirty']:g} {r['variant']}".strip()
           for r in rows for c, s in r["by_contestant"].items() if not s["ok"]]
    add("every measured call returned the expected pages", "MISS" if bad else "PASS",
        f"{len(bad)} wrong" if bad else "all checks passed", bad)
    add("every benchmark process exited normally", "MISS" if failed else "PASS",
        f"{len(failed)} failed (timeout is exit 124; results up to the failure are used)"
        if failed else "all exited 0", list(failed))
    return out


# -------------------------------------------------------------------- table

def table(rows, contestants):
    cols = [c for c in ORDER if c in contestants]
    head = ["measure", "size", "dirty/var", "unit"]
    for c in cols:
        head.append(SHORT[c] + " med [min..max]")
        if c in (KERNEL, FAULT, WINE, PATCHED):
            head.append(SHORT[c] + " xfloor")
        if c in (KERNEL, FAULT):
            head.append(SHORT[c] + " xwine8")
        if c in STOCK_OF:
            head.append(SHORT[c] + " x" + SHORT[STOCK_OF[c]])
    lines = [head]
    for row in rows:
        var = row["variant"] or (f"{row['dirty']:g}" if row["measure"] in ("gww", "gww_reset", "reset") else "")
        cells = [LABEL.get(row["measure"], row["measure"]), size_label(row["pages"]), var, row["unit"]]
        for c in cols:
            s = row["by_contestant"].get(c)
            if s:
                flag = "" if s["ok"] else "!"
                cells.append(f"{fmt(s['median'])}{flag} [{fmt(s['min'])}..{fmt(s['max'])}]")
            else:
                cells.append("-")
            if c in (KERNEL, FAULT, WINE, PATCHED):
                cells.append(f"{s['ratio_floor']:.2f}" if s and s["ratio_floor"] is not None else "-")
            if c in (KERNEL, FAULT):
                cells.append(f"{s['ratio_wine']:.2f}" if s and s["ratio_wine"] is not None else "-")
            if c in STOCK_OF:
                cells.append(f"{s['ratio_stock']:.2f}" if s and s["ratio_stock"] is not None else "-")
        lines.append(cells)
    return aligned(lines, text_columns=4)


def aligned(lines, text_columns):
    """Rows of cells as text columns: the first text_columns left-aligned,
    the figures after them right-aligned, a rule under the heading row."""
    widths = [max(len(l[i]) for l in lines) for i in range(len(lines[0]))]
    out = []
    for n, l in enumerate(lines):
        out.append("  ".join(x.ljust(w) if i < text_columns else x.rjust(w)
                             for i, (x, w) in enumerate(zip(l, widths))).rstrip())
        if n == 0:
            out.append("-" * len(out[0]))
    return "\n".join(out)


def per_call_table(rows, contestants):
    """The scan measures as ns per call (ns/page times the region's pages):
    what a program calling GetWriteWatch many times per frame pays."""
    cols = [c for c in (FLOOR, KERNEL, PATCHED, WINE, "wine10-writewatch", "wine10", "wine11-writewatch", "wine11", FAULT)
            if c in contestants]
    head = ["measure", "size", "dirty"] + [SHORT[c] + " ns/call" for c in cols]
    if KERNEL in cols and FLOOR in cols:
        head.append("kernel xfloor")
    lines = [head]
    for row in rows:
        if row["measure"] not in ("gww", "gww_reset", "reset"):
            continue
        cells = [LABEL[row["measure"]], size_label(row["pages"]), f"{row['dirty']:g}"]
        for c in cols:
            s = row["by_contestant"].get(c)
            cells.append(fmt(s["median"] * row["pages"]) if s else "-")
        if KERNEL in cols and FLOOR in cols:
            k, f = row["by_contestant"].get(KERNEL), row["by_contestant"].get(FLOOR)
            cells.append(f"{k['median'] / f['median']:.2f}" if k and f and f["median"] > 0 else "-")
        lines.append(cells)
    return aligned(lines, text_columns=3)


# ---------------------------------------------------------------------- svg

def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Svg:
    def __init__(self, w, h):
        self.w, self.h, self.parts = w, h, []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=11, anchor="start", weight="normal", color="#222"):
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                 f'font-weight="{weight}" fill="{color}">{esc(s)}</text>')

    def line(self, x1, y1, x2, y2, color="#ccc", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                 f'stroke="{color}" stroke-width="{width}"{d}/>')

    def render(self):
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                f'viewBox="0 0 {self.w} {self.h}" font-family="DejaVu Sans, Arial, sans-serif">\n'
                f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(self.parts) + "\n</svg>\n")


def log_range(values):
    lo = min(v for v in values if v > 0)
    hi = max(values)
    # Half the smallest value still gets a visible bar / point above the axis.
    a, b = math.floor(math.log10(lo * 0.5)), math.ceil(math.log10(hi))
    if a == b:
        b += 1
    return a, b


def line_panel(svg, x, y, w, h, title, rows, measure, dirty, cols):
    """ns/page against region size (log-log), one line per contestant, min..max whiskers."""
    pts = {}
    for r in rows:
        if r["measure"] != measure or r["dirty"] != dirty:
            continue
        for c, s in r["by_contestant"].items():
            if c in cols:
                pts.setdefault(c, []).append((r["pages"], s))
    svg.add(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#bbb"/>')
    svg.text(x + w / 2, y - 6, title, 12, "middle", "bold")
    if not pts:
        svg.text(x + w / 2, y + h / 2, "not measured", 11, "middle")
        return
    allv = [v for c in pts for _, s in pts[c] for v in (s["min"], s["max"]) if v > 0]
    sizes = sorted({p for c in pts for p, _ in pts[c]})
    a, b = log_range(allv)
    sx0, sx1 = math.log2(sizes[0]), math.log2(sizes[-1])
    if sx0 == sx1:
        sx1 += 1
    px = lambda p: x + 30 + (math.log2(p) - sx0) / (sx1 - sx0) * (w - 45)
    py = lambda v: y + h - 5 - (math.log10(v) - a) / (b - a) * (h - 10)
    for d in range(a, b + 1):
        yy = py(10 ** d)
        svg.line(x, yy, x + w, yy, "#eee")
        svg.text(x - 3, yy + 4, f"{10 ** d:g}", 9, "end", color="#666")
    for p in sizes:
        svg.text(px(p), y + h + 12, size_label(p).split("/")[1] if "/" in size_label(p) else str(p),
                 9, "middle", color="#666")
    for c in cols:
        if c not in pts:
            continue
        series = sorted(pts[c], key=lambda t: t[0])
        col = COLORS[c]
        path = " ".join(f"{'M' if i == 0 else 'L'}{px(p):.1f},{py(max(s['median'], 10 ** a)):.1f}"
                        for i, (p, s) in enumerate(series))
        svg.add(f'<path d="{path}" fill="none" stroke="{col}" stroke-width="2"/>')
        for p, s in series:
            svg.line(px(p), py(max(s["min"], 10 ** a)), px(p), py(max(s["max"], 10 ** a)), col, 1)
            svg.add(f'<circle cx="{px(p):.1f}" cy="{py(max(s["median"], 10 ** a)):.1f}" r="2.5" fill="{col}"/>')


def bar_panel(svg, x, y, w, groups, cols):
    """Horizontal bars on a log axis: groups = [(label, unit, {contestant: stats})]."""
    vals = [s[k] for _, _, by in groups for c, s in by.items() if c in cols for k in ("min", "max") if s[k] > 0]
    if not vals:
        return y
    a, b = log_range(vals)
    lab_w = 230
    bx0, bx1 = x + lab_w, x + w - 60
    px = lambda v: bx0 + (math.log10(max(v, 10 ** a)) - a) / (b - a) * (bx1 - bx0)
    top = y
    bar_h = 9
    for label, unit, by in groups:
        present = [c for c in cols if c in by]
        if not present:
            continue
        svg.text(x, y + 10, f"{label} ({unit})", 11, weight="bold")
        y += 14
        for c in present:
            s = by[c]
            svg.add(f'<rect x="{bx0}" y="{y:.1f}" width="{max(px(s["median"]) - bx0, 1):.1f}" '
                    f'height="{bar_h}" fill="{COLORS[c]}"/>')
            svg.line(px(s["min"]), y + bar_h / 2, px(s["max"]), y + bar_h / 2, "#000", 1)
            svg.text(x + lab_w - 6, y + 8, SHORT[c], 9, "end", color="#444")
            svg.text(px(s["max"]) + 4, y + 8, fmt(s["median"]), 9, color="#222")
            y += bar_h + 3
        y += 6
    for d in range(a, b + 1):
        svg.line(px(10 ** d), top, px(10 ** d), y, "#e4e4e4")
        svg.text(px(10 ** d), y + 10, f"{10 ** d:g}", 9, "middle", color="#666")
    return y + 16


def heatmap(svg, x, y, title, rows, measure, num, den, limit):
    """Ratio num/den of medians, sizes down, dirty fractions across; green when
    within 'limit', red over it. Returns the height used."""
    cells = {}
    for r in rows:
        if r["measure"] != measure:
            continue
        a, b = r["by_contestant"].get(num), r["by_contestant"].get(den)
        if a and b and b["median"] > 0:
            cells[(r["pages"], r["dirty"])] = a["median"] / b["median"]
    svg.text(x, y, title, 10, weight="bold")
    if not cells:
        svg.text(x, y + 16, "not measured", 10, color="#777")
        return 30
    sizes = sorted({p for p, _ in cells})
    fracs = sorted({f for _, f in cells})
    cw, ch, lw = 40, 16, 34
    for j, f in enumerate(fracs):
        svg.text(x + lw + j * cw + cw / 2, y + 14, f"{f * 100:g}%", 9, "middle", color="#555")
    for i, p in enumerate(sizes):
        yy = y + 18 + i * ch
        svg.text(x + lw - 4, yy + 12, size_label(p).split("/")[-1], 9, "end", color="#555")
        for j, f in enumerate(fracs):
            v = cells.get((p, f))
            if v is None:
                continue
            col = "#cfeccf" if v <= limit else "#f6c9c9"
            svg.add(f'<rect x="{x + lw + j * cw}" y="{yy}" width="{cw - 2}" height="{ch - 2}" fill="{col}"/>')
            svg.text(x + lw + j * cw + cw / 2 - 1, yy + 11, f"{v:.2f}", 9, "middle")
    return 18 + len(sizes) * ch + 14


def chart(rows, contestants, tgts, meta):
    cols = [c for c in ORDER if c in contestants]
    W = 1240
    pw, ph = 255, 150
    fracs = sorted({r["dirty"] for r in rows if r["measure"] == "gww"})
    scan_measures = [m for m in ("gww", "gww_reset", "reset") if any(r["measure"] == m for r in rows)]
    bar_groups = []
    for r in rows:
        if r["measure"] in ("first_write", "first_touch", "drain_reset", "wine_write", "wine_gww", "mem_alloc", "mem_used", "mem_rss", "mem_lib"):
            lab = LABEL[r["measure"]]
            if r["variant"]:
                lab += " " + r["variant"]
            elif r["measure"].startswith("first"):
                lab += " " + size_label(r["pages"])
            bar_groups.append((lab, r["unit"], r["by_contestant"]))
    n_bars = sum(1 + len([c for c in cols if c in by]) for _, _, by in bar_groups)
    H = 150 + len(tgts) * 15 + 200 + len(scan_measures) * (ph + 55) + n_bars * 13 + 140
    svg = Svg(W, H)
    svg.text(20, 28, "writewatch benchmark: medians of repeated runs, whiskers min..max (log scales; lower is better)",
             16, weight="bold")
    svg.text(20, 46, meta, 11, color="#555")
    lx = 20
    for c in cols:
        svg.add(f'<rect x="{lx}" y="56" width="14" height="10" fill="{COLORS[c]}"/>')
        svg.text(lx + 18, 65, c, 11)
        lx += 40 + 7 * len(c)
    y = 86
    for t in tgts:
        col = {"PASS": "#1a7f1a", "MISS": "#c01818"}.get(t["status"], "#777")
        svg.text(20, y, t["status"], 11, weight="bold", color=col)
        svg.text(62, y, f"{t['target']} -- {t['detail']}"[:190], 11)
        y += 15
    y += 18
    maps = [(f"kernel / floor: GetWriteWatch (<= {KERNEL_LIMIT:.2f})", "gww", KERNEL, FLOOR, KERNEL_LIMIT),
            (f"kernel / floor: GWW+RESET (<= {KERNEL_LIMIT:.2f})", "gww_reset", KERNEL, FLOOR, KERNEL_LIMIT),
            ("fault / wine8: GetWriteWatch (<= 1)", "gww", FAULT, WINE, 1.0),
            ("fault / wine8: GWW+RESET (<= 1)", "gww_reset", FAULT, WINE, 1.0),
            ("fault / wine8: ResetWriteWatch (<= 1)", "reset", FAULT, WINE, 1.0)]
    if "wine11-writewatch" in contestants:
        maps.append((f"wine11+ww / wine11: GWW+RESET (<= {UPSTREAM_LIMIT:.2f})", "gww_reset",
                     "wine11-writewatch", "wine11", UPSTREAM_LIMIT))
    svg.w = max(W, 40 + len(maps) * 244)
    hmax = 0
    for i, (t, m, a, b, lim) in enumerate(maps):
        hmax = max(hmax, heatmap(svg, 20 + i * 244, y, t, rows, m, a, b, lim))
    y += hmax + 20
    for m in scan_measures:
        svg.text(20, y, f"{LABEL[m]}: ns per region page vs region size", 13, weight="bold")
        y += 30
        for i, f in enumerate(fracs):
            line_panel(svg, 50 + i * (pw + 48), y, pw, ph, f"dirty {f * 100:g}%", rows, m, f, cols)
        y += ph + 25
    y += 10
    timing = [g for g in bar_groups if g[1] != "B/page"]
    memory = [g for g in bar_groups if g[1] == "B/page"]
    y = bar_panel(svg, 20, y, W - 40, timing, cols)
    if memory:
        svg.text(20, y + 4, "library memory per watched page (bytes; reference: 1 byte per page)", 12, weight="bold")
        y = bar_panel(svg, 20, y + 14, W - 40, memory, cols)
    svg.h = int(y + 10)
    return svg.render()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", default="")
    a = ap.parse_args()
    recs = load(a.raw)
    if not recs:
        print("bench-report: no results in " + a.raw, file=sys.stderr)
        return 1
    contestants = sorted({r["contestant"] for r in recs},
                         key=lambda c: ORDER.index(c) if c in ORDER else 99)
    runs = {c: len({r["run"] for r in recs if r["contestant"] == c}) for c in contestants}
    rows = aggregate(recs)
    failed = []
    for path in sorted(glob.glob(os.path.join(a.raw, "*.exit"))):
        with open(path) as f:
            rc = f.read().strip()
        if rc == "77":
            print(f"bench-report: {os.path.basename(path)[:-5]} skipped itself "
                  "(exit 77: this kernel lacks async userfaultfd write-protect)", file=sys.stderr)
        elif rc != "0":
            failed.append(f"{os.path.basename(path)[:-5]}: exit {rc}")
    tgts = targets(rows, contestants, failed)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = (f"{now}, {a.mode or '?'} mode, runs per contestant: "
            + ", ".join(f"{c} {n}" for c, n in runs.items())
            + f"; {platform.node()} {platform.release()} {os.cpu_count()} cpus")
    os.makedirs(a.out, exist_ok=True)
    doc = {"generated": now, "mode": a.mode, "host": {"kernel": platform.release(), "cpus": os.cpu_count()},
           "runs": runs, "floor": FLOOR, "wine": WINE, "results": rows, "targets": tgts}
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(a.out, "results.svg"), "w") as f:
        f.write(chart(rows, contestants, tgts, meta))
    text = [f"writewatch benchmark ({meta})",
            "median [min..max] over runs; xfloor = median / floor-uffd median, xwine8 = median / Wine 8 median,",
            "wineN+ww xwineN = median / the same Wine's median without the series;",
            "'!' = a run returned a wrong answer", "", table(rows, contestants), "",
            "per call (ns/page x region pages):", "", per_call_table(rows, contestants), ""]
    for t in tgts:
        text.append(f"{t['status']}: {t['target']}: {t['detail']}")
        for m in t["misses"][:12]:
            text.append(f"      {m}")
        if len(t["misses"]) > 12:
            text.append(f"      ... {len(t['misses']) - 12} more")
    text.append("")
    text.append(f"written: {os.path.join(a.out, 'results.json')}, {os.path.join(a.out, 'results.svg')}")
    out = "\n".join(text)
    with open(os.path.join(a.out, "table.txt"), "w") as f:
        f.write(out + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
