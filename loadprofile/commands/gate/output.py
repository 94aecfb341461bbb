"""A gate's verdicts as a console table, JUnit XML (CI systems show it natively) and a short
Markdown summary (for a pull request or a chat message)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from loadprofile.commands.gate.verdicts import GateResult, Verdict
from loadprofile.report.money import fmt_bound_figure

PARTIAL_CHECK = "the run is complete (not partial)"


def _num(value: float | None, bound: str = "") -> str:
    """A figure of the table: dollars for a cost (never 5.4e-05), else four digits."""
    return fmt_bound_figure(value, bound, "-")


def _partial_failed(result: GateResult) -> bool:
    return result.partial and not result.allow_partial


def table(result: GateResult) -> str:
    """The console table: one line per bound and model, then the verdict."""
    rows = [("", "model", "bound", "actual", "limit", "note")]
    rows += [
        (
            "PASS" if v.passed else "FAIL",
            v.model,
            v.bound,
            _num(v.actual, v.bound),
            _num(v.limit, v.bound),
            v.detail,
        )
        for v in result.verdicts
    ]
    if result.partial:
        rows.append(
            (
                "FAIL" if _partial_failed(result) else "PASS",
                "-",
                PARTIAL_CHECK,
                "partial",
                "complete",
                "allowed by allow_partial"
                if result.allow_partial
                else "an interrupted run or a lost worker: figures are incomplete",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r[:5], widths, strict=True)) + "  " + r[5]
        for r in rows
    ]
    failed = len(result.failed) + int(_partial_failed(result))
    total = len(result.verdicts) + int(result.partial)
    verdict = "PASSED" if result.passed else f"FAILED ({failed} of {total} checks)"
    lines += result.cache_lines  # how warm each side's prefix cache was
    lines.append(f"gate {verdict}: {result.slo_source} on {result.run_id}")
    return "\n".join(line.rstrip() for line in lines)


def _case_name(v: Verdict) -> str:
    return f"{v.model}: {v.bound}"


def junit(result: GateResult) -> bytes:
    """One <testcase> per bound and model (and one for completeness when partial)."""
    failures = len(result.failed) + int(_partial_failed(result))
    suite = ET.Element(
        "testsuite",
        name="loadprofile gate",
        tests=str(len(result.verdicts) + int(result.partial)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time="0",
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("run_id", result.run_id),
        ("run_dir", result.run_dir),
        ("slo", result.slo_source),
        ("significance", f"{result.significance:g}"),
        ("against", result.against or ""),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    for v in result.verdicts:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"loadprofile.slo.{v.model}",
            name=_case_name(v),
            time="0",
        )
        text = f"actual {_num(v.actual, v.bound)}, limit {_num(v.limit, v.bound)}: {v.detail}"
        if not v.passed:
            failure = ET.SubElement(case, "failure", message=text, type="SLOViolation")
            failure.text = text
        else:
            ET.SubElement(case, "system-out").text = text
    if result.partial:
        case = ET.SubElement(
            suite, "testcase", classname="loadprofile.run", name=PARTIAL_CHECK, time="0"
        )
        if _partial_failed(result):
            ET.SubElement(case, "failure", message="the run is partial", type="PartialRun")
    suites = ET.Element(
        "testsuites", name="loadprofile", tests=suite.get("tests", "0"), failures=str(failures)
    )
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(result: GateResult) -> str:
    failed = len(result.failed) + int(_partial_failed(result))
    head = (
        "**loadprofile gate: passed**"
        if result.passed
        else f"**loadprofile gate: FAILED** ({failed} check(s))"
    )
    lines = [f"{head} on run `{result.run_id}` against `{result.slo_source}`", ""]
    if result.canary:
        lines += [
            f"Canary `{result.canary['candidate']}` judged against "
            f"`{result.canary['baseline']}` under the same load.",
            "",
        ]
    if result.against:
        lines += [f"`before.` figures are those of run `{result.against}`.", ""]
    if result.partial:
        lines += ["The run is **partial** (interrupted, or a worker was lost).", ""]
    for line in result.cache_lines:
        lines += [_md_cell(line), ""]
    lines += ["| | model | bound | actual | limit | note |", "|---|---|---|---|---|---|"]
    ordered = sorted(result.verdicts, key=lambda v: v.passed)  # failures first
    lines += [
        f"| {'✅' if v.passed else '❌'} | {_md_cell(v.model)} | `{_md_cell(v.bound)}` | "
        f"{_num(v.actual, v.bound)} | {_num(v.limit, v.bound)} | {_md_cell(v.detail)} |"
        for v in ordered
    ]
    return "\n".join(lines) + "\n"


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
