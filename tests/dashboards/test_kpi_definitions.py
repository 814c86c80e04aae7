"""One definition per KPI: the dashboard pages compute no figure themselves (no aggregate in their
SQL, no pandas reduction, no arithmetic on values); every KPI comes from ``dashboards/kpis.py``,
which reads the KPI marts, and each is documented in docs/concepts/kpis.md."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dashboards import kpis

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "dashboards" / "views"
# the pages that show business KPIs (Runs and Write-back list the operational ledgers' rows)
KPI_PAGES = ("overview", "delivery", "customers", "stock", "order_cycle")

SQL_AGGREGATE = re.compile(
    r"\b(sum|avg|mean|count|quantile_cont|quantile_disc|percentile_cont|median|stddev|nullif|round)\s*\(", re.I
)
PANDAS_REDUCTION = re.compile(
    r"\.(sum|mean|median|agg|aggregate|groupby|pivot_table|cumsum|clip|count|std|quantile|value_counts|div|mul|sub)\("
)


def computed_figures(source: str) -> list[str]:
    """What in a page's source computes a figure: aggregates in its strings (SQL), pandas
    reductions, arithmetic whose operand is a value read from a frame or a KPI row."""
    found: list[str] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [f"SQL {m.group(0)}…" for m in SQL_AGGREGATE.finditer(node.value)]
        elif isinstance(node, ast.BinOp):
            operands = (node.left, node.right)
            arithmetic = isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.FloorDiv | ast.Pow)
            figures = isinstance(node.op, ast.Div | ast.FloorDiv) or any(
                isinstance(o, ast.Subscript | ast.Attribute | ast.Call) for o in operands
            )
            text = any(  # joining strings or lists is no arithmetic
                isinstance(o, ast.List | ast.JoinedStr) or (isinstance(o, ast.Constant) and isinstance(o.value, str))
                for o in operands
            )
            if arithmetic and figures and not text:
                found.append(f"arithmetic: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and not isinstance(node.operand, ast.Constant)
        ):
            found.append(f"arithmetic: {ast.unparse(node)}")
    found += [f"pandas .{m.group(1)}(" for m in PANDAS_REDUCTION.finditer(source)]
    return found


@pytest.mark.parametrize("page", KPI_PAGES)
def test_pages_compute_no_figure_themselves(page):
    assert computed_figures((VIEWS / f"{page}.py").read_text()) == []


def test_the_check_finds_the_arithmetic_pages_used_to_do():
    """What the pages did before the KPI marts: each is caught."""
    old = {
        "first attempt over attempts > 0": '''q = "avg(case when attempts > 0 then 1.0 else 0.0 end) as first_attempt_rate"''',
        "revenue summed in the page": '''q = f"select coalesce(sum(revenue_rc), 0) as revenue from rpt_orders_daily"''',
        "a ratio in SQL": '''q = "select sum(net_sales_rc) / nullif(sum(orders), 0) as aov from dim_customers"''',
        "pandas sum": """metric(cols[0], "Units on hand", current["on_hand"].sum())""",
        "pandas groupby": """skus = current.groupby("sku")["units_per_day"]""",
        "negated column": """x = (-current["available_to_promise"]).tolist()""",
        "ratio of two values": """rate = now["returned"] / now["delivered"]""",
    }
    for what, source in old.items():
        assert computed_figures(source), what


def test_every_kpi_is_defined_once_and_documented():
    doc = (ROOT / "docs" / "concepts" / "kpis.md").read_text()
    missing = [name for name in kpis.KPIS if f"`{name}`" not in doc]
    assert missing == []
    for kpi in kpis.KPIS.values():
        assert kpi.source in kpis.SOURCES, kpi.name


def test_the_pages_show_the_kpis_checked_against_the_truth():
    """The KPIs tests/dbt/test_kpis_vs_truth.py recomputes from the demo world are the ones the
    pages show (a name the registry lacks fails when the page runs: tests/dashboards/test_pages.py)."""
    used: set[str] = set()
    for page in KPI_PAGES:
        for node in ast.walk(ast.parse((VIEWS / f"{page}.py").read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in kpis.KPIS:
                used.add(node.value)
    for step in kpis.STEPS:  # the order cycle page's step durations are named from these
        assert {f"hours_{step}_p50", f"hours_{step}_p90", f"orders_through_{step}"} <= set(kpis.KPIS)
    shown = {
        "orders",
        "revenue",
        "on_time_rate",
        "otif_rate",
        "first_attempt_rate",
        "click_to_door_hours_p50",
        "click_to_door_hours_p90",
        "return_rate",
        "new_customers",
        "repeat_rate",
        "aov",
        "historic_ltv_net_avg",
        "on_hand",
        "stockouts",
    }
    assert shown <= used


def test_the_readme_kpi_table_names_kpis_the_pages_show_on_the_pages_it_says():
    """Each KPI of the README's table is a defined KPI, shown on every page the table names."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## KPIs: one definition each", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) >= 10
    shown_on: dict[str, set[str]] = {}
    for page in KPI_PAGES:
        for node in ast.walk(ast.parse((VIEWS / f"{page}.py").read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in kpis.KPIS:
                shown_on.setdefault(node.value, set()).add(page)
    for names, _definition, pages in rows:
        for name in re.findall(r"`([a-z0-9_]+)`", names):
            assert name in kpis.KPIS, name
            wanted = {p.strip().lower().replace(" ", "_") for p in pages.split(",")}
            assert wanted <= shown_on.get(name, set()), (name, wanted, shown_on.get(name))
