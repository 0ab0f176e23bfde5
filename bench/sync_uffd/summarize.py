#!/usr/bin/env python3
"""Folds several ww_syncuffd outputs into one table.

    bench/sync_uffd/summarize.py RUN.txt...

Each cell: the median over the runs of each run's median, and [min..max] of
those run medians. A run's "WRONG" marks the cell with "!". The last columns
compare the best synchronous contestant of the row with the fault backend.
"""
import re
import statistics
import sys

ROW = re.compile(r'^(?P<what>.{36}) (?P<who>\S+)\s+(?P<med>[-0-9.]+) \[(?P<lo>[-0-9.]+)\.\.(?P<hi>[-0-9.]+)\] '
                 r'(?P<unit>\S+)\s+(?P<ok>ok|WRONG)')
HIGHER_IS_BETTER = ('writes/s',)


def fmt(v):
    if v >= 1e6:
        return '%.3gM' % (v / 1e6)
    if v >= 1e4:
        return '%.0f' % v
    if v >= 100:
        return '%.0f' % v
    return '%.1f' % v


def main(paths):
    cells, order, who_order, units, wrong = {}, [], [], {}, set()
    for path in paths:
        for line in open(path):
            m = ROW.match(line)
            if not m:
                continue
            what, who = m['what'].strip(), m['who']
            if what not in order:
                order.append(what)
            if who not in who_order:
                who_order.append(who)
            cells.setdefault((what, who), []).append(float(m['med']))
            units[what] = m['unit']
            if m['ok'] != 'ok':
                wrong.add((what, who))
    print('median of %d runs\' medians [min..max over the runs]; "!" = a wrong answer in some run' % len(paths))
    head = ['measure', 'unit'] + who_order + ['best sync', 'best sync / fault']
    rows = []
    for what in order:
        row = [what, units[what]]
        meds = {}
        for who in who_order:
            v = cells.get((what, who))
            if not v:
                row.append('-')
                continue
            med = statistics.median(v)
            meds[who] = med
            mark = '!' if (what, who) in wrong else ''
            row.append('%s [%s..%s]%s' % (fmt(med), fmt(min(v)), fmt(max(v)), mark) if len(v) > 1
                       else fmt(med) + mark)
        syncs = {w: v for w, v in meds.items() if w.startswith('sync')}
        if syncs and 'fault' in meds and meds['fault']:
            better = max if any(h in what for h in HIGHER_IS_BETTER) else min
            best = better(syncs, key=syncs.get)
            row += [best, '%.2f' % (syncs[best] / meds['fault'])]
        else:
            row += ['-', '-']
        rows.append(row)
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')


if __name__ == '__main__':
    main(sys.argv[1:])
