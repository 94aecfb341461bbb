"""``trend check``'s findings as console lines, JUnit XML (one test case per series, model and
metric, as ``gate`` writes one per bound) and a short Markdown summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from loadprofile.commands.gate.output import write
from loadprofile.commands.trend.analysis import describe_run, fmt_change
from loadprofile.commands.trend.check_result import CheckResult, Finding

__all__ = ["console", "junit", "markdown", "write"]


def _line(finding: Finding) -> str:
    t = finding.trend
    return (
        f"{t.model} {t.metric} {fmt_change(finding.change)} since run "
        f"{describe_run(finding.change.run)}"
    )


def _scope(result: CheckResult) -> str:
    runs = sum(len(trend.runs) for trend in result.trends)
    series = ", ".join(trend.info.key for trend in result.trends)
    return (
        f"the last {result.recent} of {runs} run(s) of series {series}; "
        f"{', '.join(result.metrics)}; regressions worse by more than {result.min_change:g} %"
    )


def console(result: CheckResult) -> str:
    lines = [f"REGRESSION  {_line(f)}" for f in result.regressions]
    lines += [f"improved    {_line(f)}" for f in result.improvements]
    verdict = (
        "trend check passed: no regression"
        if result.passed
        else f"trend check FAILED: {len(result.regressions)} regression(s)"
    )
    lines.append(f"{verdict} in {_scope(result)}")
    return "\n".join(lines)


def junit(result: CheckResult) -> bytes:
    """One <testcase> per series, model and metric checked: a failure per regression."""
    suite = ET.Element("testsuite", name="loadprofile trend check", errors="0", skipped="0")
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("recent", str(result.recent)),
        ("min_change_pct", f"{result.min_change:g}"),
        ("metrics", ",".join(result.metrics)),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    cases = failures = 0
    for trend in result.trends:
        for t in trend.trends():
            if t.metric not in result.metrics:
                continue
            cases += 1
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"loadprofile.trend.{trend.info.key}.{t.model}",
                name=f"{t.model}: {t.metric}",
                time="0",
            )
            mine = [f for f in result.regressions if f.trend is t]
            for finding in mine:
                text = _line(finding)
                failure = ET.SubElement(case, "failure", message=text, type="TrendRegression")
                failure.text = text
            failures += bool(mine)
            better = [_line(f) for f in result.improvements if f.trend is t]
            if better:
                ET.SubElement(case, "system-out").text = "improved: " + "; ".join(better)
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("time", "0")
    suites = ET.Element("testsuites", name="loadprofile", tests=str(cases), failures=str(failures))
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(result: CheckResult) -> str:
    head = (
        "**loadprofile trend check: passed**"
        if result.passed
        else f"**loadprofile trend check: FAILED** ({len(result.regressions)} regression(s))"
    )
    lines = [head, "", _cell(_scope(result)), ""]
    rows = [("❌", f) for f in result.regressions] + [("✅", f) for f in result.improvements]
    if rows:
        lines += ["| | model | metric | before → after | change | p | since run |"]
        lines += ["|---|---|---|---|---|---|---|"]
        for mark, f in rows:
            c = f.change
            pct = "from 0" if c.change_pct is None else f"{c.change_pct:+.1f} %"
            lines.append(
                f"| {mark} | {_cell(f.trend.model)} | `{_cell(f.trend.metric)}` | "
                f"{c.before:.4g} → {c.after:.4g} | {pct} | {c.p_value:.2g} | "
                f"{_cell(describe_run(c.run))} |"
            )
    else:
        lines.append("No change point in the recent runs.")
    return "\n".join(lines) + "\n"
