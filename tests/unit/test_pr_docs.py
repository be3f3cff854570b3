"""docs/pull-requests.md shows comments exactly as `pr_comment.render_comment` renders them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from paperspace_deploy import cost, pr_comment, preview
from paperspace_deploy.spec.findings import Finding, Severity
from paperspace_deploy.specdiff import PlanResult, diff

DOC = Path(__file__).resolve().parents[2] / "docs" / "pull-requests.md"
CPU = {"metric": "cpu", "summary": "average", "value": 60}
RUN = "https://github.com/acme/app/actions/runs/"
COMMIT = "9c1d0e5a7b3f" + "0" * 28


def _spec(machine: str, image: str, token: str) -> dict:
    return {"apiVersion": "v1", "name": "hello-paperspace", "image": image,
            "containerRegistry": "ghcr", "env": [{"name": "MODEL_TOKEN", "value": token}],
            "resources": {"machineType": machine, "ports": [8080], "replicas": 1,
                          "autoscaling": {"maxReplicas": 5, "metrics": [CPU]}}}  # fmt: skip


def plan_comment() -> str:
    live = _spec("A4000", "ghcr.io/acme/app@sha256:" + "3f" * 32, "hf_live_plaintext_token")
    ours = _spec("H100", "ghcr.io/acme/app:pr-42", "secret:MODEL_TOKEN")
    plan = PlanResult("hello-paperspace", "p28rlnvnw51", "6f1c2f7e", "b7c2", diff(live, ours))
    warning = Finding(".paperspace/app.yaml", 14, 5, Severity.WARNING, "replicas-single",
                      "one replica has no redundancy; 2 or more are recommended")  # fmt: skip
    est = cost.estimate(ours, cost.live_from_plan(ours, plan), cost.load_prices())
    return pr_comment.render_comment(pr_comment.CommentContent(
        ".paperspace/app.yaml", "Plan and cost", [warning], plan, est, commit=COMMIT,
        run_url=RUN + "123456789"))  # fmt: skip


def preview_comment() -> str:
    policy = preview.PreviewPolicy(machine_types=("C4", "C5", "A4000"), machine_type="A4000")
    data, notes = preview.preview_spec(_spec("H100", ":image", "secret:MODEL_TOKEN"), 42, policy)
    host = "d4f2a6b0206084221af768e5cfedb5dc4.clg07azjl.paperspacegradient.com"
    when = datetime(2026, 10, 4, 14, 30, tzinfo=UTC)
    info = pr_comment.PreviewInfo(data["name"], host, when, "healthy", preview.ttl_text(policy.ttl))
    est = cost.estimate(data, None, cost.load_prices(), compared=False)
    return pr_comment.render_comment(pr_comment.CommentContent(
        ".paperspace/app.yaml", "Preview", [], None, est, info, notes[1:], commit=COMMIT,
        run_url=RUN + "123456790"))  # fmt: skip


def _block(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    m = re.search(rf"<!-- example:{name} -->\n(.*?)<!-- /example:{name} -->", text, re.S)
    assert m, f"docs/pull-requests.md has no example:{name} block"
    return m.group(1)


def test_docs_show_the_rendered_plan_comment() -> None:
    assert _block("plan") == plan_comment()


def test_docs_show_the_rendered_preview_comment() -> None:
    assert _block("preview") == preview_comment()
