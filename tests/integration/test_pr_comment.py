"""The sticky PR comment against the GitHub emulator (and the Paperspace emulator for the plan)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import deploy_calls as dc
import pytest
from canary import leaks
from github_emulator import GitHubHandle, serve

from paperspace_deploy import cost, pr_comment
from paperspace_deploy.emulator.faults import Fault
from paperspace_deploy.spec import lint_file
from paperspace_deploy.spec.findings import Finding, Severity
from paperspace_deploy.specdiff import PlanResult, diff

pytestmark = pytest.mark.integration
CANARY = "ghp_CanarySecretValue0123456789abcdefXYZ"
CANARY_AUTH = "CanaryBasicAuthKey-0123456789abcdef"
HOSTILE = f"""\
apiVersion: v1
name: "demo<script>alert(1)</script> @octo-org/admins #1 -->"
image: nginx:1.25
"[evil](https://x.example/a) ![img](https://x.example/p.png) `code` **b** | x": 1
env:
  - name: API_TOKEN
    value: "{CANARY}"
basicAuthKey: "{CANARY_AUTH}"
resources:
  machineType: "H100"
  ports: [8000]
  replicas: 3
"""


@pytest.fixture
def github(tmp_path: Path) -> Iterator[GitHubHandle]:
    yield from serve(tmp_path)


def finding(message: str, severity: Severity = Severity.WARNING, line: int = 3) -> Finding:
    return Finding(".paperspace/app.yaml", line, 1, severity, "some-rule", message)


def content(
    spec: str = ".paperspace/app.yaml", workflow: str = "PR plan", **kw
) -> pr_comment.CommentContent:
    return pr_comment.CommentContent(spec=spec, workflow=workflow, **kw)


def post(
    github: GitHubHandle, c: pr_comment.CommentContent, **env: str
) -> pr_comment.CommentOutcome:
    return pr_comment.publish(c, environ=github.env(**env), client_options={"policy": _fast()})


def _fast():
    from github_emulator import FAST

    return FAST


def test_first_run_creates_second_edits_no_duplicate(github) -> None:
    first = post(github, content(findings=[finding("one")]))
    assert first.action == "created" and first.level is None
    second = post(github, content(findings=[finding("two")]))
    assert second.action == "updated" and second.comment_id == first.comment_id
    comments = github.comments()
    assert len(comments) == 1 and "two" in comments[0]["body"] and "one" not in comments[0]["body"]
    assert comments[0]["body"].startswith("<!-- paperspace-deploy:PR_plan:.paperspace/app.yaml -->")
    again = post(github, content(findings=[finding("two")]))
    assert (
        again.action == "unchanged"
        and github.server.requests.get("PATCH /repos/acme/app/issues/comments/{n}") == 1
    )


def test_each_spec_and_each_workflow_gets_its_own(github) -> None:
    post(github, content(".paperspace/app.yaml"))
    post(github, content(".paperspace/worker.yaml"))
    post(github, content(".paperspace/app.yaml", workflow="Preview"))
    post(github, content(".paperspace/worker.yaml", findings=[finding("changed")]))
    bodies = [c["body"].split("\n", 1)[0] for c in github.comments()]
    assert bodies == [
        "<!-- paperspace-deploy:PR_plan:.paperspace/app.yaml -->",
        "<!-- paperspace-deploy:PR_plan:.paperspace/worker.yaml -->",
        "<!-- paperspace-deploy:Preview:.paperspace/app.yaml -->",
    ]
    assert "changed" in github.comments()[1]["body"]


def test_fork_403_is_a_notice_not_a_failure(github) -> None:
    out = post(github, content(findings=[finding("x")]), fork=True)
    assert out.action == "skipped" and out.level == "notice"
    assert "403" in out.message and "fork" in out.message
    assert github.comments() == []


def test_not_a_pull_request_and_unreachable_github_never_raise(github) -> None:
    env = github.env(GITHUB_EVENT_NAME="push", GITHUB_REF="refs/heads/main")
    env.pop("GITHUB_EVENT_PATH")
    out = pr_comment.publish(content(), environ=env)
    assert out.action == "skipped" and "not for a pull request" in out.message
    github.faults.add("status:503@*x50")
    out = post(github, content())
    assert out.action == "failed" and out.level == "warning" and "unavailable" in out.message
    github.faults.clear()
    bad = pr_comment.publish(content(), environ=github.env(token="ghs_wrong"))
    assert bad.action == "failed" and "Bad credentials" in bad.message


def test_ambiguous_create_is_reconciled_without_a_duplicate(github) -> None:
    github.faults.add("drop-after@POST /repos/*x1")
    out = post(github, content(findings=[finding("x")]))
    assert out.action == "created" and len(github.comments()) == 1


def test_a_comment_deleted_meanwhile_is_posted_again(github) -> None:
    post(github, content())
    github.faults.add(Fault(kind="status", route="PATCH /repos/*", status=404))
    out = post(github, content(findings=[finding("new")]))
    assert out.action == "created" and len(github.comments()) == 2


def test_a_users_comment_quoting_the_marker_is_left_alone(github) -> None:
    ours = post(github, content())
    github.state.add_token("user-token", "mallory", kind="User")
    mark = pr_comment.marker("PR plan", ".paperspace/app.yaml")
    spoof = github.client("user-token").create_issue_comment(
        github.repo, github.number, mark + "\nhi"
    )
    out = post(github, content(findings=[finding("edited")]))
    assert out.comment_id == ours.comment_id != spoof["id"]
    assert [c["body"] for c in github.comments() if c["id"] == spoof["id"]] == [mark + "\nhi"]


def test_marker_values_are_sanitised() -> None:
    mark = pr_comment.marker("evil --> <b>x</b>", "a b/../--c.yaml\n<!--")
    assert mark.startswith("<!-- paperspace-deploy:") and mark.endswith(" -->")
    inner = mark[len("<!-- ") : -len(" -->")]
    assert (
        "--" not in inner.replace("paperspace-deploy", "") and "<" not in inner and ">" not in inner
    )
    assert "\n" not in mark and " " not in inner


def _hostile_plan(emulator, tmp_path: Path) -> PlanResult:
    """A real plan against the Paperspace emulator whose live spec holds plaintext secrets."""
    live = {"apiVersion": "v1", "name": "demo", "image": "nginx:1.24", "basicAuthKey": CANARY_AUTH,
            "env": [{"name": "API_TOKEN", "value": CANARY}],
            "resources": {"machineType": "A4000", "ports": [8000], "replicas": 1}}  # fmt: skip
    emulator.state.upsert(emulator.project_id, live)
    spec = tmp_path / "app.yaml"
    spec.write_text(
        "apiVersion: v1\nname: demo\nimage: nginx:1.25\nbasicAuthKey: secret:AUTH\n"
        "env:\n  - name: API_TOKEN\n    value: secret:API_TOKEN\n"
        "resources:\n  machineType: H100\n  ports: [8000]\n  replicas: 3\n"
    )
    plan = dc.plan(spec, project_id=emulator.project_id, environ=emulator.env(), timeout=10)
    assert {c.path for c in plan.changes} >= {
        "env[0].value",
        "basicAuthKey",
        "resources.machineType",
    }
    return plan


def test_body_is_escaped_and_holds_no_secret(github, emulator, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(HOSTILE)
    lint = lint_file(hostile, ".paperspace/app.yaml\n[x](https://e.example)")
    plan = _hostile_plan(emulator, tmp_path)
    ours = {"name": "demo", "resources": {"machineType": "H100", "replicas": 3}}
    est = cost.estimate(ours, cost.live_from_plan(ours, plan), cost.load_prices())
    preview = pr_comment.PreviewInfo("demo-pr-7", "javascript:alert(1)//x", None, "healthy")
    c = pr_comment.CommentContent(
        spec=lint.path, workflow="PR plan", findings=lint.findings, plan=plan, cost=est,
        preview=preview, notes=["note <iframe src=//x> @octocat"], failure="boom <b>",
        commit="f" * 40, run_url="https://github.com/acme/app/actions/runs/4242",
    )  # fmt: skip
    out = post(github, c)
    assert out.action == "created"
    body = github.comments()[0]["body"]
    # the marker is the only HTML comment; spec text opened no tag, link, image or code span
    assert body.count("-->") == 1 and body.split("\n", 1)[0].endswith("-->")
    for bad in (
        "<script",
        "<iframe",
        "<b>",
        "](https://x",
        "![",
        "](javascript",
        "`code`",
        "**b**",
    ):
        assert bad not in body, bad
    assert not re.search(
        r"(?<![\w\u2060&])@[\w-]", body.replace("paperspace-deploy", "")
    )  # no mention
    assert not re.search(r"(?<![&\w\u2060])#1\b", body)  # no issue reference
    rows = [line for line in body.splitlines() if line.startswith("| ") or line.startswith("|---")]
    for line in rows:  # a pipe from the spec never adds a cell
        assert line.replace("\\|", "").count("|") in (3, 5), line
    # errors come first, and the secrets are neither in the findings nor in the plan's diff
    severities = [
        line.split("|")[1].strip()
        for line in rows
        if line.startswith("| ❌") or line.startswith("| ⚠️")
    ]
    assert severities == sorted(severities, key=lambda s: not s.startswith("❌"))
    assert "&lt;redacted&gt;" in body  # the diff of the live secrets, redacted by specdiff
    assert "**Change:** +$6,212/month at 3 replicas" in body  # A4000 x1 -> H100 x3
    assert "by this [workflow run](https://github.com/acme/app/actions/runs/4242)" in body
    shown = {"comment": body, "as GitHub shows it": html.unescape(body)}
    assert leaks(shown, CANARY) == [] and leaks(shown, CANARY_AUTH) == []


def test_known_secret_values_are_redacted_before_posting(github) -> None:
    c = content(failure=f"the server echoed {CANARY}")
    out = pr_comment.publish(c, environ=github.env(), secrets=[CANARY, "abc"])
    assert out.action == "created"
    body = github.comments()[0]["body"]
    assert leaks({"comment": body, "shown": html.unescape(body)}, CANARY) == []
    assert "the server echoed ***" in html.unescape(body)
    # text escaped elsewhere (the cost section) is covered by the final pass
    est = cost.estimate({"resources": {"machineType": CANARY[:20]}}, None, cost.load_prices())
    again = pr_comment.render_comment(content(cost=est), secrets=[CANARY[:20]])
    assert CANARY[:20] not in html.unescape(again)


def test_huge_content_is_cut_below_githubs_limit(github) -> None:
    findings = [finding("m" * 400, Severity.ERROR, i) for i in range(1, 2000)]
    changes = diff(None, {f"k{i}": "v" * 300 for i in range(2000)})
    plan = PlanResult("demo", "p1", None, None, changes)
    body = pr_comment.render_comment(content(findings=findings, plan=plan))
    assert len(body) <= pr_comment.MAX_BODY
    assert "…and 1949 more" in body and "…and 1921 more" in body  # 2000 keys + enabled
    assert post(github, content(findings=findings, plan=plan)).action == "created"
    cut = pr_comment._cap("<!-- m -->\n" + ("| row |\n" * 20000))
    assert len(cut) <= pr_comment.MAX_BODY and cut.rstrip().endswith("everything)")
    assert all(line in ("| row |", "", "<!-- m -->") or "cut" in line for line in cut.splitlines())


def test_preview_section_shows_endpoint_and_expiry() -> None:
    from datetime import UTC, datetime

    host = "dabc123.clg07azjl.paperspacegradient.com"
    when = datetime(2026, 9, 23, 12, 0, tzinfo=UTC)
    info = pr_comment.PreviewInfo("demo-pr-7", host, when, "healthy", "3 days")
    body = pr_comment.render_comment(content(preview=info))
    assert ("| Endpoint | [dabc123.clg07azjl.paperspacegradient.com]"
            "(https://dabc123.clg07azjl.paperspacegradient.com) |") in body  # fmt: skip
    assert "| Expires | 2026-09-23 12:00 UTC (3 days after the last deploy)" in body
    gone = pr_comment.render_comment(
        content(preview=pr_comment.PreviewInfo("demo-pr-7", None, None, "deleted"))
    )
    assert "deleted (the pull request was closed)" in gone and "Endpoint" not in gone


def test_the_runs_deadline_bounds_the_comment(github) -> None:
    import time

    spent = pr_comment.publish(content(), environ=github.env(), deadline=time.monotonic() - 1)
    assert spent.action == "failed" and "time budget exhausted" in spent.message
    assert github.comments() == []
    ok = pr_comment.publish(content(), environ=github.env(), deadline=time.monotonic() + 30)
    assert ok.action == "created" and ok.api_calls == 2  # one list, one create
