"""Push retry policy and error mapping (the attempt is a fake; the real push is tested in
tests/integration/test_build_push.py)."""

import io

import pytest

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.errors import ExitCode, InputError, Unavailable
from paperspace_deploy.image.console import Console
from paperspace_deploy.image.options import RetryPolicy
from paperspace_deploy.image.push import Credentials, PushFailed, to_error, with_retries
from paperspace_deploy.image.stream import Failure
from paperspace_deploy.io import Io
from paperspace_deploy.safetext import one_line


def console():
    err = io.StringIO()
    return Console(Io(stdout=io.StringIO(), stderr=err, environ={})), err


def run(outcomes, policy=None, deadline=None):
    policy = policy or RetryPolicy(attempts=3, base=1, cap=4, floor=0.5)
    deadline = deadline or Deadline(None)
    calls, sleeps = [], []
    con, err = console()

    def attempt():
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    result = with_retries(
        attempt,
        policy=policy,
        deadline=deadline,
        console=con,
        what="push",
        registry="r.example",
        sleep=sleeps.append,
    )
    return result, calls, sleeps, err.getvalue()


def test_transient_failures_are_retried_then_succeed():
    flaky = PushFailed("toomanyrequests: slow down", Failure.TRANSIENT)
    result, calls, sleeps, log = run([flaky, flaky, "sha256:abc"])
    assert result == "sha256:abc" and len(calls) == 3
    assert 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2  # jittered, growing
    assert "attempt 2/3" in log and "attempt 3/3" in log


def test_attempts_are_bounded():
    flaky = PushFailed("received unexpected HTTP status: 503", Failure.TRANSIENT)
    with pytest.raises(Unavailable, match="after 3 attempts") as exc:
        run([flaky] * 5)
    assert exc.value.exit_code == ExitCode.UNAVAILABLE


@pytest.mark.parametrize("kind", [Failure.AUTH, Failure.NOT_FOUND, Failure.TLS, Failure.INSECURE])
def test_permanent_failures_are_never_retried(kind):
    with pytest.raises(InputError):
        run([PushFailed("denied", kind), "never"])


def test_no_sleep_past_the_deadline():
    flaky = PushFailed("connection refused", Failure.TRANSIENT)
    with pytest.raises(Unavailable):
        run([flaky, "x"], policy=RetryPolicy(3, base=60, cap=60), deadline=Deadline(5))


def test_auth_error_message_names_registry_and_what_to_do():
    err = to_error(
        "push", "127.0.0.1:5000", "unauthorized: authentication required", Failure.AUTH, 1
    )
    assert "registry 127.0.0.1:5000 rejected the push" in str(err)
    assert "REGISTRY_PASSWORD" in err.hint


def test_insecure_registry_hint():
    err = to_error(
        "push", "reg:5000", "server gave HTTP response to HTTPS client", Failure.INSECURE, 1
    )
    assert "insecure-registries" in err.hint


def test_credentials_repr_and_auth_config_keep_the_password_private():
    creds = Credentials("docker.io", "u", "p4ss")
    assert "p4ss" not in repr(creds)
    assert creds.auth_config()["serveraddress"] == "https://index.docker.io/v1/"


@pytest.mark.parametrize(
    "text",
    ["a\n::add-mask::x", "x ##[error]y", "  ::set-output name=a::b", "\r::warning::x"],
)
def test_one_line_defuses_workflow_commands(text):
    out = one_line(text)
    assert "\n" not in out and "\r" not in out and "##[" not in out
    assert not out.lstrip().startswith("::")


class FakeEngine:
    """A client whose push replays a recorded-style stream (the boundary: docker-py's push)."""

    def __init__(self, events):
        self.events = events
        self.psd_responses = []

    def push(self, repo, tag=None, stream=False, decode=False, auth_config=None):
        assert stream and decode
        return iter(self.events)

    def close(self):
        pass


def test_push_without_a_digest_is_a_failure_not_a_deploy():
    from paperspace_deploy.image.push import push_tag

    con, _ = console()
    events = [
        {"status": "The push refers to repository [r/x]"},
        {"status": "Pushed", "id": "abc"},
        {"status": "v1: digest: sha256:" + "a" * 64 + " size: 5"},  # text only, no aux
    ]
    with pytest.raises(Unavailable, match="did not report a digest") as exc:
        push_tag(FakeEngine(events), "r/x", "v1", None, con, Deadline(None))
    assert exc.value.exit_code == ExitCode.UNAVAILABLE


def test_error_after_the_digest_fails_the_push():
    from paperspace_deploy.image.push import push_tag

    con, _ = console()
    events = [
        {"aux": {"Tag": "v1", "Digest": "sha256:" + "a" * 64, "Size": 5}},
        {"errorDetail": {"message": "received unexpected HTTP status: 500"}},
    ]
    with pytest.raises(PushFailed) as exc:
        push_tag(FakeEngine(events), "r/x", "v1", None, con, Deadline(None))
    assert exc.value.kind is Failure.TRANSIENT
