#!/usr/bin/env python3
"""Mainline's mm selftests in the VMs, test by test, and the verdict on the series.

    selftests_report.py [--out FILE] NAME=SERIAL_LOG...

Reads the part of each VM's serial log that guest/init prints between
"WW-ST-BEGIN name" and "WW-ST-END name rc=N" (lib/selftests.sh says which
programs and why), turns it into one result per test (pass, fail, skip,
xfail, error) and prints, for every VM, a table of each program's counts
beside those of the 6.12 VM, then the verdict:

- every VM given must have run every program to its end: a program that
  crashed, hung or timed out is a problem;
- 6.1-patched must pass every test that 6.12 passes, unless it skips it by
  the test's own feature check as Debian's stock 6.1 does (a feature of
  the base kernel the series does not claim; the reasons may differ where
  the configs do: the VMs' kernels have gup_test, Debian's has not), or the program
  does not even plan that case on either 6.1 kernel (cow plans a case per
  THP size the kernel offers, 6.1 has one); any other skip, a failure or
  an error is a regression of the series. Neither holds for a program
  that does not run on stock 6.1 at all (pagemap_ioctl exits at once).
  A failure is excused only for the tests OUTSIDE_TRACKING lists, each
  with its reason, and only where stock 6.1 fails it the same way: a 6.1
  behaviour with no uffd-wp, pagemap or PAGEMAP_SCAN in it. A test that
  touches the tracking is never listed, whatever stock 6.1 does.
Failures and errors (a program stopping at a failed step) on the reference
kernels (6.12 on both arches, stock 6.1) are mainline's, listed as notes:
they take those tests out of the comparison, not the stage down.

A test is named by its program and the "[RUN]" heading above it (cow), else
its own description; repeated names get "#2", "#3". Exit status 0 when the
verdict holds, 1 when it does not, 2 on bad arguments.
"""
import re
import sys
from collections import Counter, OrderedDict

REFERENCE = "6.12"
PATCHED = "6.1-patched"
STOCK = "6.1-stock"
WHOLE = "(whole program)"
# (program, test) -> why 6.1 fails it without the series being at fault.
OUTSIDE_TRACKING = {
    ("ksm_functional_tests", "test_unmerge_zero_pages"):
        "reads ksm_zero_pages, a 6.7 counter of KSM's zero pages that 6.1 does not keep",
    ("ksm_functional_tests", "test_prot_none"):
        "6.1's KSM looks pages up with follow_page(), which passes over PROT_NONE ptes: "
        "nothing merges (no uffd-wp involved; mainline 6.5 let KSM through)",
}
UNFINISHED = "did not finish"

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TAP_RESULT = re.compile(r"^(not ok|ok) \d+ ?(.*)$")
UFFD_CASE = re.compile(r"Testing (\S+) on (\S+)\.\.\. ?")
UFFD_VERDICT = re.compile(r"(done)$|(skipped|failed) \[reason: (.*?)\]", re.M)
GLUED = re.compile(r"(?<=.)(?=# \[RUN\] |Bail out!)")
# Tests whose description carries a measurement: named without it.
MEASURED = [re.compile(r"^(transact_test)\b.*")]


def blocks(log_text):
    """(name, lines, rc or None, seconds) for each selftest block of a serial log."""
    name, lines = None, []
    for raw in log_text.splitlines():
        line = ANSI.sub("", raw.replace("\r", ""))
        if line.startswith("WW-ST-BEGIN "):
            if name is not None:
                yield name, lines, None, 0
            name, lines = line[len("WW-ST-BEGIN "):].strip(), []
        elif line.startswith("WW-ST-END ") and name is not None:
            rc = re.search(r" rc=(\d+)", line)
            secs = re.search(r" secs=(\d+)", line)
            yield name, lines, int(rc.group(1)) if rc else None, int(secs.group(1)) if secs else 0
            name, lines = None, []
        elif name is not None:
            lines.append(line)
    if name is not None:
        yield name, lines, None, 0


def unglued(lines):
    """The lines with those split off that a message without its closing
    newline glued onto its own (ksm_functional_tests: "not ok 5 ...# [RUN] ...")."""
    for line in lines:
        yield from GLUED.split(line)


def tap_results(lines, rc):
    """kselftest TAP output: (test, result, detail) per result line."""
    out, heading, seen, planned, bailed = [], "", Counter(), None, None
    for line in unglued(lines):
        if line.startswith("# [RUN] "):
            heading = line[len("# [RUN] "):].strip()
            continue
        m = re.match(r"^1\.\.(\d+)(?:\s*#\s*SKIP\s*(.*))?", line)
        if m:
            planned = int(m.group(1))
            if planned == 0:
                out.append((WHOLE, "skip", m.group(2) or "planned no test"))
            continue
        if line.startswith("Bail out!"):
            # ksft_finished() ends a run with failures this way: the
            # failures are counted already, and a real stop shows as
            # fewer results than planned.
            if not re.match(r"Bail out! \d+ out of \d+ tests failed", line):
                bailed = line
            continue
        m = TAP_RESULT.match(line)
        if not m:
            continue
        text, detail = m.group(2), ""
        directive = re.match(r"^#\s*(SKIP|XFAIL|TODO)\s*(.*)$", text)
        if directive:
            kind, text = directive.group(1), directive.group(2)
            result = {"SKIP": "skip", "XFAIL": "xfail", "TODO": "fail"}[kind]
            detail = text
        else:
            result = "pass" if m.group(1) == "ok" else "fail"
        for measured in MEASURED:
            text = measured.sub(r"\1", text)
        # Under a "[RUN]" heading (cow) the heading names the test and the
        # line says what was checked or why it was skipped.
        test = heading or text
        if heading:
            detail = text
        heading = ""
        seen[test] += 1
        if seen[test] > 1:
            test = f"{test} #{seen[test]}"
        out.append((test, result, detail))
    ran = sum(1 for t in out if t[0] != WHOLE)
    if rc is None:
        out.append((WHOLE, "error", "did not finish (crash, hang or timeout)"))
    elif bailed:
        out.append((WHOLE, "error", bailed))
    elif planned and ran != planned:
        out.append((WHOLE, "error", f"stopped after {ran} of {planned} planned tests (rc={rc})"))
    elif rc not in (0, 4) and not any(r == "fail" for _, r, _ in out):
        out.append((WHOLE, "error", f"rc={rc} with no failing test"))
    elif not out and rc == 0:
        out.append((WHOLE, "skip", "ran no test (exits at once when the kernel lacks what it needs)"))
    return out


def uffd_unit_results(lines, rc):
    """uffd-unit-tests: "Testing NAME on MEM... done|skipped [..]|failed [..]";
    a case with no verdict is where the program stopped (its err())."""
    out, text = [], "\n".join(lines)
    cases = list(UFFD_CASE.finditer(text))
    for i, m in enumerate(cases):
        test = f"{m.group(1)} on {m.group(2)}"
        segment = text[m.end():cases[i + 1].start() if i + 1 < len(cases) else len(text)]
        verdict = UFFD_VERDICT.search(segment)
        if verdict and verdict.group(1):
            out.append((test, "pass", ""))
        elif verdict:
            out.append((test, "skip" if verdict.group(2) == "skipped" else "fail", verdict.group(3)))
        else:
            why = re.search(r"ERROR: [^\n]*", segment)
            out.append((test, "error", why.group(0) if why else f"stopped here (rc={rc})"))
    if rc is None:
        out.append((WHOLE, "error", "did not finish (crash, hang or timeout)"))
    return out


def parse(log_text):
    """(OrderedDict program -> OrderedDict test -> (result, detail),
    Counter program -> seconds)."""
    programs, seconds = OrderedDict(), Counter()
    for name, lines, rc, secs in blocks(log_text):
        program, _, arg = name.partition(" ")
        if program == "uffd-unit-tests":
            rows = uffd_unit_results(lines, rc)
        elif program == "uffd-stress":
            result = {0: "pass", 4: "skip"}.get(rc, "error" if rc is None else "fail")
            rows = [(arg, result, "" if rc is not None else "did not finish")]
        else:
            rows = tap_results(lines, rc)
        seconds[program] += secs
        tests = programs.setdefault(program, OrderedDict())
        for test, result, detail in rows:
            # -f matches substrings: a case seen in an earlier group stays as it was.
            tests.setdefault(test, (result, detail))
    return programs, seconds


def counts(tests):
    c = Counter(result for result, _ in tests.values())
    return c


def fmt_counts(c):
    if not c:
        return "-"
    parts = [f"{c[k]} {k}" for k in ("pass", "fail", "skip", "xfail", "error") if c[k]]
    return ", ".join(parts)


def table(name, vm, seconds, ref):
    beside = ref is not None and name != REFERENCE
    rows = [f"{name}" + (f" beside {REFERENCE}" if beside else "") + f" ({sum(seconds.values())} s)",
            f"  {'program':<24} {name:<44} {REFERENCE if beside else ''}"]
    order = list(vm.keys()) + [p for p in (ref or {}) if p not in vm]
    for program in order:
        mine = "not run"
        if program in vm:
            mine = f"{fmt_counts(counts(vm[program]))} ({seconds[program]} s)"
        theirs = ""
        if beside:
            theirs = fmt_counts(counts(ref.get(program, {}))) if program in ref else "not run"
        rows.append(f"  {program:<24} {mine:<44} {theirs}")
    return rows


def judge_patched(patched, ref, stock):
    """The tests 6.12 passes that 6.1-patched does not, each with why it is
    (not) allowed. Returns (allowed, regressions) as lists of strings."""
    allowed, regressions = [], []
    for program, tests in ref.items():
        for test, (result, _) in tests.items():
            if result != "pass":
                continue
            mine, detail = patched.get(program, {}).get(test, ("missing", "not run"))
            if mine == "pass":
                continue
            where = f"{program}: {test}: {mine}" + (f" ({detail})" if detail else "")
            base_tests = stock.get(program, {})
            base = base_tests.get(test, ("missing", "not run"))
            base_ran = bool(base_tests) and WHOLE not in base_tests
            if base_ran and mine in ("skip", "missing") and base[0] == mine:
                allowed.append(f"{where}; on {STOCK}: {base[0]}" + (f" ({base[1]})" if base[1] else ""))
            elif base_ran and mine == "fail" and base[0] == mine and (program, test) in OUTSIDE_TRACKING:
                allowed.append(f"{where}; fails on {STOCK} too, outside the tracking: "
                               f"{OUTSIDE_TRACKING[(program, test)]}")
            else:
                regressions.append(where)
    return allowed, regressions


def main(argv):
    out_file = None
    args = argv[1:]
    if len(args) >= 2 and args[0] == "--out":
        out_file, args = args[1], args[2:]
    if not args or not all("=" in a for a in args):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    vms, times = OrderedDict(), {}
    for a in args:
        name, path = a.split("=", 1)
        try:
            with open(path, errors="replace") as f:
                vms[name], times[name] = parse(f.read())
        except OSError as e:
            vms[name] = None
            print(f"selftests: cannot read the serial log of {name}: {e}", file=sys.stderr)
    lines, problems = [], []
    ref = vms.get(REFERENCE)
    for name, vm in vms.items():
        if vm is None or not vm:
            problems.append(f"{name}: no selftest ran (no serial log or no WW-ST-BEGIN in it)")
            continue
        lines += table(name, vm, times[name], ref) + [""]
        for program, tests in vm.items():
            for test, (result, detail) in tests.items():
                if result == "error" and detail.startswith(UNFINISHED):
                    problems.append(f"{name}: {program}: {test}: {detail}")
                elif result in ("fail", "error") and name != PATCHED:
                    lines.append(f"  note: {name} {'fails' if result == 'fail' else 'stops at'} {program}: {test}"
                                 + (f" ({detail})" if detail else ""))
    if PATCHED in vms and vms[PATCHED]:
        if not ref or STOCK not in vms or not vms[STOCK]:
            problems.append(f"{PATCHED} not judged: the same run must have {REFERENCE} and {STOCK}")
        else:
            allowed, regressions = judge_patched(vms[PATCHED], ref, vms[STOCK])
            lines.append(f"{PATCHED} against {REFERENCE}: "
                         f"{sum(1 for t in ref.values() for r, _ in t.values() if r == 'pass')} tests pass on "
                         f"{REFERENCE}; {len(regressions)} of them fail, error or skip on {PATCHED} "
                         f"where {STOCK} does not; {len(allowed)} excused as on {STOCK}")
            lines += [f"  allowed: {a}" for a in allowed]
            problems += [f"{PATCHED} regresses: {r}" for r in regressions]
    verdict = "PASS" if not problems else "FAIL"
    lines += [f"  {p}" for p in problems]
    lines.append(f"selftests: {verdict} ({', '.join(vms)}; {len(problems)} problem(s))")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if out_file:
        with open(out_file, "w") as f:
            f.write(text)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
