"""``paperfeed users create`` / ``users token`` as an operator runs them (subprocess, real instance)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from paperfeed.app import create_app
from paperfeed.config import Settings
from tests.cli import run_cli

CHEAP = {
    "PAPERFEED_ARGON2_TIME_COST": "1",
    "PAPERFEED_ARGON2_MEMORY_KIB": "8",
    "PAPERFEED_ARGON2_PARALLELISM": "1",
}


def run(data_dir, *args, input_text=None):
    return run_cli(
        data_dir, *args, input_text=input_text, env={"PAPERFEED_SECRET_KEY": "cli-test-key", **CHEAP}
    )


def test_users_create_and_token(tmp_path):
    data_dir = tmp_path / "instance"
    created = run(
        data_dir,
        "users", "create", "root", "--email", "root@example.org", "--admin", "--password-stdin",
        input_text="a long admin password\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "created admin user root" in created.stderr

    token_run = run(data_dir, "users", "token", "root", "--name", "deploy")
    assert token_run.returncode == 0, token_run.stderr
    token = token_run.stdout.strip()
    assert token.startswith("pf_") and len(token) > 40
    again = run(data_dir, "users", "token", "root").stdout.strip()
    assert again != token  # a new token each time, never a stored one printed back

    settings = Settings(data_dir=data_dir, secret_key="cli-test-key", argon2_time_cost=1, argon2_memory_kib=8)
    app = create_app(settings)
    accounts = app.state.services.accounts
    account = accounts.token_account(token)
    assert account is not None and account.username == "root" and account.is_admin
    assert accounts.authenticate("root", "a long admin password").username == "root"
    with TestClient(app) as client:
        response = client.post("/api/papers/2501.05441/upvote", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 404  # authenticated; the empty instance has no such paper
        assert response.json()["error"]["code"] == "not_found"


def test_users_errors_are_one_line(tmp_path):
    data_dir = tmp_path / "instance"
    ok = run(
        data_dir,
        "users",
        "create",
        "amy",
        "--email",
        "amy@example.org",
        "--password-stdin",
        input_text="password-1\n",
    )
    assert ok.returncode == 0, ok.stderr
    cases = [
        (("users", "create", "AMY", "--email", "x@example.org", "--password-stdin"), "password-1\n", "taken"),
        (("users", "create", "bo", "--email", "bo@example.org", "--password-stdin"), "password-1\n", "3–32"),
        (
            ("users", "create", "bob", "--email", "bob@example.org", "--password-stdin"),
            "short\n",
            "8 characters",
        ),
        (("users", "create", "bob", "--email", "bob@example.org"), "", "--password-stdin"),
        (("users", "token", "nobody"), None, "no user"),
    ]
    for args, stdin, fragment in cases:
        result = run(data_dir, *args, input_text=stdin)
        assert result.returncode == 1, (args, result.stderr)
        assert fragment in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
