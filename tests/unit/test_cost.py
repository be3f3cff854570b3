"""The cost estimate: arithmetic, range, change, unknown types, the prices file, the renderers."""

from __future__ import annotations

import json
import os
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from paperspace_deploy import cost
from paperspace_deploy.errors import InputError, UsageError
from paperspace_deploy.specdiff import PlanResult, diff

REPO = Path(__file__).resolve().parents[2]
PRICES = cost.load_prices()
CPU = {"metric": "cpu", "summary": "average", "value": 60}


def spec(machine: str = "A4000", replicas: int | None = 1, max_replicas: int | None = None,
         **top: object) -> dict:  # fmt: skip
    res: dict = {"machineType": machine, "ports": [8000]}
    if replicas is not None:
        res["replicas"] = replicas
    if max_replicas is not None:
        res["autoscaling"] = {"maxReplicas": max_replicas, "metrics": [CPU]}
    return {"apiVersion": "v1", "name": "demo", "image": "x", "resources": res, **top}


def test_shipped_prices_carry_source_and_date() -> None:
    raw = json.loads((REPO / "src/paperspace_deploy/data/prices.json").read_text())
    assert raw["source"] == "https://www.paperspace.com/pricing" and raw["date"] == "2026-09-20"
    assert PRICES.sources == [
        "Paperspace list prices (https://www.paperspace.com/pricing, 2026-09-20)"
    ]
    assert PRICES.get("A4000").hourly == Decimal("0.76")
    assert PRICES.get("H100").hourly == Decimal("3.09")
    assert PRICES.get("C4") is None  # not on the page: never guessed


def test_prices_ship_in_the_wheel() -> None:
    """pyproject's package-data glob covers data/prices.json (setup.py adds the schema there)."""
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = meta["tool"]["setuptools"]["package-data"]["paperspace_deploy"]
    assert "data/*.json" in globs
    assert (REPO / "src/paperspace_deploy/data/prices.json").is_file()


def test_hourly_and_monthly_arithmetic() -> None:
    est = cost.estimate(spec("A4000", replicas=3), None, PRICES, compared=False)
    assert est.new.hourly(3) == Decimal("2.28")
    assert est.new.monthly(3) == Decimal("2.28") * 730 == Decimal("1664.40")
    assert est.outputs() == {"cost-per-hour": "2.28", "cost-per-month": "1664.40"}
    assert est.change() is None and cost.change_text(est) is None  # lint: nothing compared


def test_range_up_to_max_replicas() -> None:
    est = cost.estimate(spec("A4000", replicas=2, max_replicas=6), None, PRICES, compared=False)
    fp = est.new.footprint
    assert (fp.replicas, fp.max_replicas, fp.scales) == (2, 6, True)
    assert est.new.monthly(fp.max_replicas) == Decimal("0.76") * 6 * 730
    line = cost.render_text(est)[0]
    assert "2 replicas x A4000" in line and "up to 6: $4.56/h, $3,329/month" in line


def test_autoscaling_disabled_or_below_floor_and_defaults() -> None:
    off = spec(max_replicas=5)
    off["resources"]["autoscaling"]["enabled"] = False
    assert cost.footprint(off).max_replicas == 1
    assert cost.footprint(spec(replicas=4, max_replicas=2)).max_replicas == 4
    assert cost.footprint(spec(replicas=None)).replicas == 1  # the server's default
    assert cost.footprint(spec(replicas=0, max_replicas=5)) == cost.Footprint("A4000", 0, 0)
    assert cost.footprint(spec(enabled=False)).max_replicas == 0
    legacy = {"apiVersion": "v0alpha0", "resources": {"instanceType": "P4000", "replicas": 2}}
    assert cost.footprint(legacy) == cost.Footprint("P4000", 2, 2)


def test_change_against_live_matches_the_issue_wording() -> None:
    """A4000 -> H100, both autoscaling to 5: the change at 1 and at 5 replicas."""
    est = cost.estimate(spec("H100", 1, 5), spec("A4000", 1, 5), PRICES)
    lo, hi = est.change()
    assert lo == (Decimal("3.09") - Decimal("0.76")) * 730 == Decimal("1700.90")
    assert hi == lo * 5
    assert cost.change_text(est) == "+$1,701/month at 1 replica, up to +$8,505 at 5"
    cheaper = cost.estimate(spec("A4000", 1), spec("A4000", 3), PRICES)
    assert cost.change_text(cheaper) == "-$1,110/month at 1 replica"
    same = cost.estimate(spec("A4000", 2), spec("A4000", 2), PRICES)
    assert cost.change_text(same) == "no change in cost"


def test_new_deployment_change_is_its_whole_cost() -> None:
    est = cost.estimate(spec("A4000", 1), None, PRICES)
    assert est.change() == (Decimal("554.80"), Decimal("554.80"))
    assert cost.change_text(est) == "+$555/month at 1 replica"
    assert "live: none (new deployment)" in "\n".join(cost.render_text(est))


def test_unknown_machine_type_says_so_never_a_guess() -> None:
    est = cost.estimate(spec("C4"), spec("A4000"), PRICES)
    assert not est.known and est.change() is None
    assert est.outputs() == {"cost-per-hour": "", "cost-per-month": ""}
    assert cost.change_text(est) == "unknown (no price known for C4)"
    text = "\n".join(cost.render_text(est))
    assert "C4: no price known" in text and "--prices FILE" in text and "$" in text  # live known
    assert est.as_dict()["unknownMachineTypes"] == ["C4"]
    assert est.as_dict()["change"] is None
    # a stopped deployment costs nothing even without a price
    stopped = cost.estimate(spec("C4", enabled=False), None, PRICES)
    assert stopped.known and stopped.outputs() == {
        "cost-per-hour": "0.00",
        "cost-per-month": "0.00",
    }


def test_prices_file_overrides_and_extends(tmp_path: Path) -> None:
    f = tmp_path / "prices.json"
    f.write_text(json.dumps({"source": "contract 2026-07", "machines": {
        "A4000": 0.50, "C4": {"hourly": 0.04, "note": "negotiated"}}}))  # fmt: skip
    table = cost.load_prices(f)
    assert table.get("A4000").hourly == Decimal("0.5") and table.get("H100").hourly == Decimal(
        "3.09"
    )
    est = cost.estimate(spec("C4", 2), spec("A4000", 1), table)
    assert est.change() == (Decimal("0.08") * 730 - Decimal("0.50") * 730,) * 2
    assert est.sources == [f"{f} (contract 2026-07)"]
    text = "\n".join(cost.render_text(est))
    assert "note: negotiated" in text and f"prices: {f} (contract 2026-07)" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"machines": {"A4000": 0.5,}}', ":1:28: not valid JSON"),
        ('{"machines": {"A4000": 1, "A4000": 2}}', "duplicate key 'A4000'"),
        ('{"machines": {"A4000": -1}}', "machines.A4000 must be between 0 and 1000"),
        ('{"machines": {"A4000": 5000}}', "must be between 0 and 1000"),
        ('{"machines": {"A4000": "0.5"}}', "must be a number (USD per hour), got a string"),
        ('{"machines": {"A4000": true}}', "got true/false"),
        ('{"machines": {"A4000": {"price": 1}}}', 'must be a number or {"hourly"'),
        ('{"machines": {"bad name!": 1}}', "is not a valid name"),
        ('{"machine": {"A4000": 1}}', "unknown key 'machine'"),
        ('{"currency": "EUR", "machines": {"A4000": 1}}', "only USD"),
        ('{"machines": {}}', "'machines' must be a non-empty object"),
        ("[1, 2]", "the top level must be an object"),
    ],
)
def test_bad_prices_file_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "rates.json"
    f.write_text(content)
    with pytest.raises(InputError) as err:
        cost.load_prices(f)
    assert str(err.value).startswith(str(f)) and message in str(err.value)


def test_prices_file_io_refusals(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="prices file not found"):
        cost.load_prices(tmp_path / "missing.json")
    with pytest.raises(UsageError, match="is a directory"):
        cost.load_prices(tmp_path)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):  # and no hang
        cost.load_prices(fifo)
    big = tmp_path / "big.json"
    big.write_text('{"machines": {"A4000": 1}}' + " " * cost.MAX_PRICES_BYTES)
    with pytest.raises(UsageError, match="larger than 256 KiB"):
        cost.load_prices(big)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"machines": {"A4000": 1}, "source": "\xe9"}')
    with pytest.raises(InputError, match="not UTF-8"):
        cost.load_prices(latin)


def test_live_side_rebuilt_from_a_real_plan() -> None:
    """The plan's field diff plus our spec give the live spec's machine and replica range."""
    live, ours = spec("A4000", 2, 4), spec("H100", 1)
    plan = PlanResult("demo", "p1", "dep-1", "spec-1", diff(live, ours))
    rebuilt = cost.live_from_plan(ours, plan)
    assert cost.footprint(rebuilt) == cost.footprint(live) == cost.Footprint("A4000", 2, 4)
    unchanged = PlanResult("demo", "p1", "dep-1", "spec-1", diff(ours, ours))
    assert cost.footprint(cost.live_from_plan(ours, unchanged)) == cost.footprint(ours)
    new = PlanResult("demo", "p1", None, None, diff(None, ours))
    assert cost.live_from_plan(ours, new) is None
    assert (
        cost.estimate_plan(ours, plan, PRICES).change()
        == cost.estimate(ours, live, PRICES).change()
    )
    assert cost.estimate_plan(ours, new, PRICES).live is None


def test_json_rendering() -> None:
    data = cost.estimate(spec("H100", 1, 5), spec("A4000", 1, 5), PRICES).as_dict()
    assert data["estimate"] is True and data["hoursPerMonth"] == 730
    assert data["new"]["perMonth"] == {"min": 2255.7, "max": 11278.5}
    assert data["live"]["machineType"] == "A4000"
    assert data["change"]["perMonthMin"] == 1700.9 and data["change"]["perMonthMax"] == 8504.5
    json.dumps(data)  # plain JSON types only


def test_markdown_section_is_labelled_and_escaped() -> None:
    hostile = spec("<img src=x onerror=alert(1)>|[x](http://evil)", 1)
    md = cost.render_markdown(cost.estimate(hostile, spec("A4000"), PRICES))
    assert "Cost estimate" in md and "An estimate, not a quote" in md and "730 h" in md
    assert "<img" not in md and "](http" not in md and "http://evil" not in md
    assert "&lt;img src=x" in md and "\\|" in md
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert {line.replace("\\|", "").count("|") for line in rows} == {5}  # every row intact
    good = cost.render_markdown(cost.estimate(spec("H100", 1, 5), spec("A4000", 1, 5), PRICES))
    assert "**Change:** +$1,701/month at 1 replica, up to +$8,505 at 5" in good
    assert "| up to 5 (autoscaling) | $15.45 | $11,279 |" in good


def test_money_formatting() -> None:
    assert cost.money(Decimal("1700.9"), monthly=True, signed=True) == "+$1,701"
    assert cost.money(Decimal("-554.8"), monthly=True, signed=True) == "-$555"
    assert cost.money(Decimal("-54.8"), monthly=True, signed=True) == "-$54.80"
    assert cost.money(Decimal("0.0045"), monthly=False) == "$0.0045"
    assert cost.money(Decimal("0"), monthly=True, signed=True) == "$0"


def test_the_example_prices_file_loads() -> None:
    """examples/.github/paperspace-prices.json (pr-plan.yml's prices-file) is a valid override."""
    example = REPO / "examples/.github/paperspace-prices.json"
    table = cost.load_prices(example)
    assert table.get("A4000").hourly == Decimal("0.65") and table.get("H100").note
    assert table.get("A6000") == cost.shipped_prices().get("A6000")  # the rest: list prices
