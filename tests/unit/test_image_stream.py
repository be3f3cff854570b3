"""Engine event parsing, fed with transcripts recorded from dockerd 20.10 (tests/fixtures/build/
transcripts, captured once from the real engine and registry; registry address and password
replaced)."""

import json
from pathlib import Path

import pytest

from paperspace_deploy.image.dockerfile import buildkit_features
from paperspace_deploy.image.stream import (
    BuildLog,
    Failure,
    LineSplitter,
    PushLog,
    classify,
    event_error,
)

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "fixtures" / "build" / "transcripts"


def events(name):
    return [json.loads(line) for line in (TRANSCRIPTS / f"{name}.jsonl").read_text().splitlines()]


def run_build(name):
    lines = []
    log = BuildLog(emit=lines.append)
    for event in events(name):
        log.feed(event)
    log.finish()
    return log, lines


def run_push(name):
    lines = []
    log = PushLog(emit=lines.append)
    for event in events(name):
        log.feed(event)
    return log, lines


def test_successful_build_gives_image_id_and_whole_lines():
    log, lines = run_build("build-ok")
    assert log.error is None
    assert log.image_id and log.image_id.startswith("sha256:")
    assert "hello" in lines and "world" in lines
    assert any(line.startswith("Step 2/3 : RUN echo hello") for line in lines)
    assert all("\n" not in line for line in lines)


def test_failed_run_step_keeps_that_steps_output_and_the_engine_error():
    log, _ = run_build("build-run-false")
    assert log.image_id is None
    assert log.error.startswith("The command '/bin/sh -c echo output-of-failing-step && false'")
    assert log.step == "Step 3/3 : RUN echo output-of-failing-step && false"
    assert "output-of-failing-step" in log.tail
    assert "before-failure" not in log.tail  # the previous step's output is not "that step"


def test_missing_copy_source_is_an_error():
    log, _ = run_build("build-copy-missing")
    assert "nope.txt" in log.error
    assert classify(log.error) is Failure.NOT_FOUND


def test_buildkit_only_syntax_is_reported_by_the_engine():
    log, _ = run_build("build-buildkit-chmod")
    assert "requires BuildKit" in log.error


def test_injection_lines_arrive_verbatim_at_line_start():
    _, lines = run_build("build-injection")
    assert "::add-mask::hello" in lines
    assert "  ::warning title=x::injected" in lines
    assert any("##[add-mask]hello" in line for line in lines)


def test_push_success_reports_digest_and_one_line_per_layer_state():
    log, lines = run_push("push-ok")
    assert log.error is None
    assert log.digest.startswith("sha256:") and len(log.digest) == 71
    layer_lines = [line for line in lines if ": " in line and not line.startswith("v1")]
    states = [line.split(": ", 1)[1].split(" (")[0] for line in layer_lines]
    assert states == sorted(set(states), key=states.index), "a state repeated"
    assert "Pushed" in states


def test_second_push_reports_existing_layers():
    log, lines = run_push("push-ok-again")
    assert log.digest
    assert any(line.endswith("Layer already exists") for line in lines)


@pytest.mark.parametrize(
    ("name", "kind", "text"),
    [
        ("push-wrong-password", Failure.AUTH, "authentication required"),
        ("push-no-credentials", Failure.AUTH, "no basic auth credentials"),
        ("push-unreachable", Failure.TRANSIENT, "connection refused"),
    ],
)
def test_push_failures_arrive_in_the_stream(name, kind, text):
    log, _ = run_push(name)
    assert log.digest is None
    assert text in log.error
    assert classify(log.error) is kind


def test_progress_bytes_do_not_flood():
    lines = []
    log = PushLog(emit=lines.append)
    log.feed({"status": "Preparing", "id": "l1"})
    for n in range(500):
        log.feed(
            {
                "status": "Pushing",
                "id": "l1",
                "progressDetail": {"current": n * 1000, "total": 500_000},
                "progress": "[=>]",
            }
        )
    for n in range(5, 0, -1):
        log.feed({"status": f"Retrying in {n} seconds", "id": "l1"})
    log.feed({"status": "Pushing", "id": "l1", "progressDetail": {"current": 1, "total": 500_000}})
    log.feed({"status": "Pushed", "id": "l1"})
    assert lines == [
        "l1: Preparing",
        "l1: Pushing (500.0 kB)",
        "l1: Retrying",
        "l1: Pushing (500.0 kB)",
        "l1: Pushed",
    ]
    assert log.retries == 1


def test_error_detail_wins_over_error_and_non_dicts_are_errors():
    assert event_error({"errorDetail": {"message": "a"}, "error": "b"}) == "a"
    assert event_error({"error": "b"}) == "b"
    assert event_error({"stream": "x"}) is None
    assert "unexpected event" in event_error("garbage")


def test_error_after_output_is_still_a_failure():
    log = PushLog(emit=lambda _: None)
    log.feed({"aux": {"Tag": "v1", "Digest": "sha256:" + "a" * 64, "Size": 1}})
    log.feed({"errorDetail": {"message": "received unexpected HTTP status: 500"}})
    assert log.error and log.digest  # the caller must check the error first


def test_line_splitter_joins_partial_chunks_and_keeps_last_redraw():
    s = LineSplitter()
    assert s.feed("abc") == []
    assert s.feed("def\nxy") == ["abcdef"]
    assert s.feed("z\r\nprogress 10%\rprogress 100%\n") == ["xyz", "progress 100%"]
    assert s.flush() == []


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("toomanyrequests: slow down", Failure.TRANSIENT),
        ("received unexpected HTTP status: 500 Internal Server Error", Failure.TRANSIENT),
        ('Get "https://x/v2/": dial tcp: lookup x: no such host', Failure.TRANSIENT),
        ("denied: requested access to the resource is denied", Failure.AUTH),
        ("login attempt to http://h/v2/ failed with status: 401 Unauthorized", Failure.AUTH),
        ("name unknown: repository name not known to registry", Failure.NOT_FOUND),
        ('Get "https://h/v2/": http: server gave HTTP response to HTTPS client', Failure.INSECURE),
        ("x509: certificate signed by unknown authority", Failure.TLS),
        ("something new", Failure.OTHER),
    ],
)
def test_classify(message, kind):
    assert classify(message) is kind


def test_buildkit_feature_scan():
    text = (
        "# syntax=docker/dockerfile:1\nFROM x\nRUN --mount=type=cache,target=/c make\n"
        "COPY --chmod=755 a /a\nRUN <<EOF\necho hi\nEOF\nRUN echo plain\n"
    )
    found = buildkit_features(text)
    assert found == [
        "# syntax= directive at line 1",
        "RUN --mount at line 3",
        "COPY/ADD --chmod/--link/... at line 4",
        "heredoc (<<EOF) at line 5",
    ]
    assert buildkit_features("FROM scratch\nCOPY a /a\n") == []


def test_endless_line_is_bounded():
    from paperspace_deploy.image.stream import MAX_LINE

    s = LineSplitter()
    out = []
    for _ in range(200):
        out += s.feed("x" * 10_000)
    out += s.flush()
    assert all(len(line) <= MAX_LINE for line in out)
    assert sum(len(line) for line in out) == 2_000_000
