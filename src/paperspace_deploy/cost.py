"""What a spec will cost to run: an estimate from list prices, never a quote.

`replicas x machine price` per hour, times 730 hours a month, and the range up to
`autoscaling.maxReplicas`; against the live spec, the change ("+$1,679/month at 1 replica, up to
+$8,395 at 5"). Prices are data (`data/prices.json`: the public pricing page, with its address and
the date it was read), overridable per machine type with a prices file for negotiated rates. A
machine type with no price says "no price known", never a guess. Money is `Decimal` throughout;
rounding happens only when a figure is shown.

Everything here takes plain data (spec dicts, a price table) and returns dataclasses; the
renderers turn an estimate into text lines, a JSON-ready dict or a Markdown section (escaped with
report/markdown.py's `cell()`/`code()`).
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from paperspace_deploy.errors import InputError, UsageError

HOURS_PER_MONTH = 730
MAX_PRICES_BYTES = 256 * 1024
MAX_MACHINES = 500
MAX_PRICE = Decimal(1000)  # per machine-hour; anything above is a typo (cents for dollars)
PRICES_NAME = "prices.json"
_MACHINE = re.compile(r"[A-Za-z0-9+()._-]{1,64}")  # the schema's machineType pattern
_TOP_KEYS = {"$comment", "source", "date", "transcription", "currency", "machines"}
# The spec fields the estimate reads, as specdiff paths (used to rebuild the live side of a plan).
COST_PATHS = (
    "enabled",
    "resources.machineType",
    "resources.instanceType",
    "resources.replicas",
    "resources.autoscaling.enabled",
    "resources.autoscaling.maxReplicas",
)


# ------------------------------------------------------------------------------------- prices
@dataclass(frozen=True)
class Price:
    hourly: Decimal  # USD per machine-hour
    source: str  # where it came from: "paperspace.com/pricing, 2026-09-20" or the prices file
    note: str | None = None


@dataclass
class PriceTable:
    prices: dict[str, Price]
    sources: list[str] = field(default_factory=list)  # every source, shipped list first

    def get(self, machine: str | None) -> Price | None:
        """Exact names only: Paperspace's are case-sensitive and lint warns on a near miss."""
        return self.prices.get(machine) if machine else None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _parse(text: str, shown: str) -> Any:
    try:
        return json.loads(
            text, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=_no_duplicates
        )
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{shown}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",
            hint='a prices file is {"machines": {"A4000": 0.60, "H100": {"hourly": 2.50}}}',
        ) from None
    except ValueError as exc:  # a duplicate key
        raise InputError(f"{shown}: {exc}", hint="give each machine type once") from None


def _price(value: Any, where: str, shown: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal):
        raise InputError(f"{shown}: {where} must be a number (USD per hour), got {_kind(value)}")
    try:
        ok = value.is_finite() and Decimal(0) <= value <= MAX_PRICE
    except InvalidOperation:
        ok = False
    if not ok:
        raise InputError(f"{shown}: {where} must be between 0 and {MAX_PRICE} USD per hour")
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _text(data: Mapping[str, Any], key: str, shown: str, limit: int = 300) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InputError(f"{shown}: '{key}' must be a string of at most {limit} characters")
    return value


def parse_prices(text: str, shown: str, *, default_source: str | None = None) -> PriceTable:
    """A prices document (the shipped one or an override) -> a PriceTable. InputError if bad."""
    data = _parse(text, shown)
    if not isinstance(data, dict):
        raise InputError(f"{shown}: the top level must be an object with a 'machines' object")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise InputError(
            f"{shown}: unknown key {unknown[0]!r}",
            hint="allowed: " + ", ".join(sorted(_TOP_KEYS)),
        )
    currency = data.get("currency", "USD")
    if currency != "USD":
        raise InputError(f"{shown}: only USD prices are supported, got currency {str(currency)!r}")
    machines = data.get("machines")
    if not isinstance(machines, dict) or not machines:
        raise InputError(f"{shown}: 'machines' must be a non-empty object of machine type: price")
    if len(machines) > MAX_MACHINES:
        raise InputError(f"{shown}: more than {MAX_MACHINES} machine types")
    src, date = _text(data, "source", shown), _text(data, "date", shown, 40)
    label = default_source or shown
    if src or date:
        label += " (" + ", ".join(x for x in (src, date) if x) + ")"
    prices: dict[str, Price] = {}
    for name, value in machines.items():
        if not _MACHINE.fullmatch(name):
            raise InputError(
                f"{shown}: machine type {name[:64]!r} is not a valid name (letters, digits, +()._-)"
            )
        note = None
        if isinstance(value, dict):
            extra = sorted(set(value) - {"hourly", "note"})
            if extra or "hourly" not in value:
                raise InputError(
                    f'{shown}: machines.{name} must be a number or {{"hourly": n, "note": s}}'
                )
            note = _text(value, "note", shown)
            value = value["hourly"]
        prices[name] = Price(_price(value, f"machines.{name}", shown), label, note)
    return PriceTable(prices, [label])


def read_prices_file(path: str | Path) -> str:
    """The text of a prices file: a regular file (never a FIFO or device), at most 256 KiB.

    The action resolves the path inside the workspace first (`workspace.check_regular_file`).
    """
    shown = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UsageError(f"prices file not found: {shown}") from None
    except IsADirectoryError:
        raise UsageError(f"prices file is a directory: {shown}") from None
    except OSError as exc:
        what = "symlink loop" if exc.errno == errno.ELOOP else exc.strerror
        raise UsageError(f"cannot open prices file {shown}: {what}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"prices file is a directory: {shown}")
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"prices file is not a regular file: {shown}")
        if info.st_size > MAX_PRICES_BYTES:
            raise UsageError(f"prices file {shown} is larger than {MAX_PRICES_BYTES // 1024} KiB")
        raw = os.read(fd, MAX_PRICES_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read prices file {shown}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_PRICES_BYTES:  # grew after fstat
        raise UsageError(f"prices file {shown} is larger than {MAX_PRICES_BYTES // 1024} KiB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"prices file {shown} is not UTF-8 text") from None


def shipped_prices() -> PriceTable:
    """The list prices in the package (`data/prices.json`)."""
    try:
        text = resources.files("paperspace_deploy").joinpath("data", PRICES_NAME).read_text("utf-8")
    except (FileNotFoundError, NotADirectoryError, OSError):
        raise UsageError("the package's price list (data/prices.json) is missing") from None
    return parse_prices(text, PRICES_NAME, default_source="Paperspace list prices")


def load_prices(path: str | Path | None = None) -> PriceTable:
    """Shipped list prices, with the machine types of `path` (a prices file) replacing them."""
    table = shipped_prices()
    if path is None or str(path) == "":
        return table
    override = parse_prices(read_prices_file(path), str(path))
    return PriceTable({**table.prices, **override.prices}, [*table.sources, *override.sources])


# ---------------------------------------------------------------------------------- estimates
@dataclass(frozen=True)
class Footprint:
    """What a spec runs: machine type and replica range (0..0 when disabled)."""

    machine: str | None
    replicas: int  # steady state (the autoscaling floor)
    max_replicas: int  # == replicas without autoscaling

    @property
    def scales(self) -> bool:
        return self.max_replicas > self.replicas


def _count(value: Any, default: int) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else default


def footprint(spec: Mapping[str, Any]) -> Footprint:
    """Read a spec (file data or API config): defaults as the server fills them."""
    found = spec.get("resources")
    res: Mapping[str, Any] = found if isinstance(found, dict) else {}
    machine = res.get("machineType") or res.get("instanceType")  # v1 / v0alpha0
    machine = machine if isinstance(machine, str) else None
    replicas = _count(res.get("replicas"), 1)
    top = replicas
    auto = res.get("autoscaling")
    if isinstance(auto, dict) and auto.get("enabled", True) is not False:
        top = max(replicas, _count(auto.get("maxReplicas"), replicas))
    if spec.get("enabled") is False or replicas == 0:  # clients treat 0 replicas as stopped
        replicas = top = 0
    return Footprint(machine, replicas, top)


@dataclass(frozen=True)
class Side:
    """The cost of one spec: known, or None where the machine type has no price."""

    footprint: Footprint
    price: Price | None

    @property
    def known(self) -> bool:
        return self.price is not None or self.footprint.max_replicas == 0

    def hourly(self, replicas: int) -> Decimal | None:
        if replicas == 0:
            return Decimal(0)
        return None if self.price is None else self.price.hourly * replicas

    def monthly(self, replicas: int) -> Decimal | None:
        hourly = self.hourly(replicas)
        return None if hourly is None else hourly * HOURS_PER_MONTH


@dataclass
class CostEstimate:
    name: str
    new: Side
    live: Side | None  # None: no live deployment (or not compared)
    compared: bool  # False when no live spec was looked up (lint): no change is shown
    sources: list[str]

    @property
    def known(self) -> bool:
        return self.new.known

    def change(self) -> tuple[Decimal, Decimal] | None:
        """Monthly change at the new spec's floor and at its ceiling; None if unknown."""
        if not self.compared or not self.new.known:
            return None
        new_fp = self.new.footprint
        lo, hi = self.new.monthly(new_fp.replicas), self.new.monthly(new_fp.max_replicas)
        if self.live is None:
            return (lo, hi) if lo is not None and hi is not None else None
        if not self.live.known:
            return None
        live_fp = self.live.footprint
        old_lo = self.live.monthly(live_fp.replicas)
        old_hi = self.live.monthly(live_fp.max_replicas)
        if lo is None or hi is None or old_lo is None or old_hi is None:
            return None
        return lo - old_lo, hi - old_hi

    def unknown_machines(self) -> list[str]:
        sides = [self.new, *([self.live] if self.live else [])]
        names = [s.footprint.machine or "(none)" for s in sides if not s.known]
        return list(dict.fromkeys(names))

    def outputs(self) -> dict[str, str]:
        """`cost-per-hour`, `cost-per-month` at the steady-state replica count ("" if unknown)."""
        fp = self.new.footprint
        hourly, monthly = self.new.hourly(fp.replicas), self.new.monthly(fp.replicas)
        return {
            "cost-per-hour": "" if hourly is None else _plain(hourly, hourly_digits(hourly)),
            "cost-per-month": "" if monthly is None else _plain(monthly, 2),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "estimate": True,
            "currency": "USD",
            "hoursPerMonth": HOURS_PER_MONTH,
            "new": _side_dict(self.new),
            "live": _side_dict(self.live) if self.live else None,
            "compared": self.compared,
            "change": _change_dict(self),
            "unknownMachineTypes": self.unknown_machines(),
            "sources": list(self.sources),
        }


def estimate(
    spec: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    prices: PriceTable,
    *,
    compared: bool = True,
) -> CostEstimate:
    """The estimate for `spec` against `live` (None: a new deployment). `compared=False` when
    no live spec was looked up (lint), so no change is claimed."""
    new_fp = footprint(spec)
    new = Side(new_fp, prices.get(new_fp.machine))
    old = None
    if compared and live is not None:
        old_fp = footprint(live)
        old = Side(old_fp, prices.get(old_fp.machine))
    used = {s.price.source for s in (new, old) if s is not None and s.price is not None}
    sources = [s for s in prices.sources if s in used] or prices.sources[:1]
    name = spec.get("name") if isinstance(spec.get("name"), str) else ""
    return CostEstimate(str(name), new, old, compared, sources)


def estimate_plan(spec: Mapping[str, Any], plan: Any, prices: PriceTable) -> CostEstimate:
    """The estimate for a `plan` (specdiff.PlanResult) of `spec`: its change against the live
    deployment, or against nothing when the plan would create it."""
    return estimate(spec, live_from_plan(spec, plan), prices)


def live_from_plan(spec: Mapping[str, Any], plan: Any) -> dict[str, Any] | None:
    """The cost-relevant fields of the live spec, rebuilt from a plan's changes and our spec.

    A field the plan does not list as changed is the same live as in ours; a changed or removed
    one had its `before` value; an added one did not exist. None when there is no deployment.
    """
    from paperspace_deploy.specdiff import normalize

    if not getattr(plan, "exists", False):
        return None
    ours = normalize(spec)
    changes = {c.path: c for c in plan.changes}
    live: dict[str, Any] = {}
    for path in COST_PATHS:
        change = changes.get(path)
        if change is not None:
            if change.kind == "added":
                continue
            value = change.before
        else:
            value = _lookup(ours, path)
            if value is _MISSING:
                continue
        _assign(live, path, value)
    return live


_MISSING = object()


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _assign(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


# ---------------------------------------------------------------------------------- rendering
def hourly_digits(value: Decimal) -> int:
    return 4 if 0 < abs(value) < Decimal("0.01") else 2


def _plain(value: Decimal, digits: int) -> str:
    return str(value.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))


def money(value: Decimal, *, monthly: bool, signed: bool = False) -> str:
    """$0.76 an hour; $555 or $2,774 a month (cents below $100); "+$1,679" when signed."""
    size = abs(value)
    digits = (0 if size >= 100 else 2) if monthly else hourly_digits(size)
    text = f"{size.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP):,}"
    if value == 0 or text.strip("0.,") == "":
        return "$0"
    sign = "-" if value < 0 else ("+" if signed else "")
    return f"{sign}${text}"


def _replicas(n: int) -> str:
    return f"{n} replica" if n == 1 else f"{n} replicas"


def change_text(est: CostEstimate) -> str | None:
    """'+$1,679/month at 1 replica, up to +$8,395 at 5', or None when nothing is compared."""
    if not est.compared:
        return None
    change = est.change()
    if change is None:
        unknown = ", ".join(est.unknown_machines())
        return f"unknown (no price known for {unknown})"
    lo, hi = change
    fp = est.new.footprint
    if lo == 0 and hi == 0:
        return "no change in cost"
    text = f"{money(lo, monthly=True, signed=True)}/month at {_replicas(fp.replicas)}"
    if fp.scales:
        text += f", up to {money(hi, monthly=True, signed=True)} at {fp.max_replicas}"
    return text


def _fmt(value: Decimal | None, *, monthly: bool) -> str:
    return "no price known" if value is None else money(value, monthly=monthly)


def _side_line(side: Side) -> str:
    fp = side.footprint
    machine = fp.machine or "(no machine type)"
    if fp.max_replicas == 0:
        return f"{machine}: stopped (0 replicas) = $0"
    if side.price is None:
        return f"{machine}: no price known"
    n, top = fp.replicas, fp.max_replicas
    text = (
        f"{_replicas(n)} x {machine} at {money(side.price.hourly, monthly=False)}/h = "
        f"{_fmt(side.hourly(n), monthly=False)}/h, {_fmt(side.monthly(n), monthly=True)}/month"
    )
    if fp.scales:
        text += (
            f"; up to {top}: {_fmt(side.hourly(top), monthly=False)}/h, "
            f"{_fmt(side.monthly(top), monthly=True)}/month"
        )
    return text


def render_text(est: CostEstimate) -> list[str]:
    """Plain lines for the CLI; machine names come from the spec, so each line is neutralised."""
    from paperspace_deploy.safetext import one_line

    head = f"cost estimate ({HOURS_PER_MONTH} h/month, list prices): {_side_line(est.new)}"
    rest = []
    if est.compared:
        rest.append(f"live: {_side_line(est.live)}" if est.live else "live: none (new deployment)")
        rest.append(f"change: {change_text(est)}")
    for name in est.unknown_machines():
        rest.append(f"no price known for {name}: give one in a prices file (--prices FILE)")
    rest += [f"note: {n}" for n in _notes(est)]
    rest.append("prices: " + "; ".join(est.sources))
    return [one_line(head, 1000)] + ["  " + one_line(line, 1000) for line in rest]


def _notes(est: CostEstimate) -> list[str]:
    sides = (est.new, est.live)
    return sorted({s.price.note for s in sides if s and s.price and s.price.note})


def render_markdown(est: CostEstimate, heading: str = "####", subject: str | None = None) -> str:
    """A Markdown section (`subject`: the spec it is for, when there are several); every value
    from a spec or prices file escaped."""
    from paperspace_deploy.report.markdown import cell, code

    rows = ["| | Replicas | Per hour | Per month (730 h) |", "|---|---|---|---|"]

    def side_rows(label: str, side: Side) -> None:
        fp = side.footprint
        what = f"{label} ({code(fp.machine or 'no machine type', 64)})"
        if fp.max_replicas == 0:
            rows.append(f"| {what} | 0 (stopped) | $0 | $0 |")
            return
        counts = [(fp.replicas, str(fp.replicas))]
        if fp.scales:
            counts.append((fp.max_replicas, f"up to {fp.max_replicas} (autoscaling)"))
        for n, shown in counts:
            hourly = _fmt(side.hourly(n), monthly=False)
            rows.append(f"| {what} | {shown} | {hourly} | {_fmt(side.monthly(n), monthly=True)} |")
            what = "″"  # ditto: the same spec, at its autoscaling ceiling

    side_rows("This spec", est.new)
    if est.compared:
        if est.live is not None:
            side_rows("Live", est.live)
        else:
            rows.append("| Live | none: a new deployment | | |")
    title = f"{heading} Cost estimate" + (f" · {code(subject)}" if subject else "")
    out = [title, "", *rows, ""]
    text = change_text(est)
    if text:
        out += [f"**Change:** {cell(text)}", ""]
    notes = [f"- No price known for {code(n, 64)}: add it to a prices file."
             for n in est.unknown_machines()]  # fmt: skip
    notes += [f"- {cell(n)}" for n in _notes(est)]
    if notes:
        out += [*notes, ""]
    sources = "; ".join(cell(s) for s in est.sources)
    out += [
        f"<sub>An estimate, not a quote: replicas × hourly list price × {HOURS_PER_MONTH} h. "
        f"Prices: {sources}. Storage, traffic, discounts and taxes are not included.</sub>",
        "",
    ]
    return "\n".join(out)


def _num(value: Decimal | None, digits: int = 2) -> float | None:
    return None if value is None else float(_plain(value, digits))


def _side_dict(side: Side) -> dict[str, Any]:
    fp = side.footprint
    return {
        "machineType": fp.machine,
        "replicas": fp.replicas,
        "maxReplicas": fp.max_replicas,
        "pricePerHour": None if side.price is None else float(side.price.hourly),
        "priceKnown": side.known,
        "perHour": {"min": _num(side.hourly(fp.replicas), 4),
                    "max": _num(side.hourly(fp.max_replicas), 4)},
        "perMonth": {"min": _num(side.monthly(fp.replicas)),
                     "max": _num(side.monthly(fp.max_replicas))},
    }  # fmt: skip


def _change_dict(est: CostEstimate) -> dict[str, Any] | None:
    change = est.change()
    if change is None:
        return None
    return {"perMonthMin": _num(change[0]), "perMonthMax": _num(change[1]),
            "text": change_text(est)}  # fmt: skip
