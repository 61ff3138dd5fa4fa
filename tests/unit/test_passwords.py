"""Password hashing: argon2id, the policy, and re-hashing when the cost parameters change."""

from __future__ import annotations

import pytest

from paperfeed.community.passwords import Passwords, check_policy
from paperfeed.config import Settings
from paperfeed.errors import InvalidInput


def _passwords(tmp_path, time_cost: int) -> Passwords:
    settings = Settings(
        data_dir=tmp_path,
        secret_key="k",
        argon2_time_cost=time_cost,
        argon2_memory_kib=8,
        argon2_parallelism=1,
    )
    return Passwords(settings)


def test_hash_verify_and_rehash(tmp_path):
    cheap = _passwords(tmp_path, 1)
    stored = cheap.hash("hunter2hunter2")
    assert stored.startswith("$argon2id$") and "t=1" in stored
    assert cheap.verify(stored, "hunter2hunter2")
    assert not cheap.verify(stored, "hunter2hunter3")
    assert not cheap.verify(None, "hunter2hunter2")  # unknown user: still a hash, still False
    assert not cheap.verify("not-a-hash", "x")
    assert not cheap.needs_rehash(stored)
    stronger = _passwords(tmp_path, 2)
    assert stronger.verify(stored, "hunter2hunter2")
    assert stronger.needs_rehash(stored)


def test_policy():
    check_policy("12345678")
    with pytest.raises(InvalidInput):
        check_policy("1234567")
    with pytest.raises(InvalidInput):
        check_policy("x" * 2000)


def test_default_cost_is_not_the_test_cost():
    settings = Settings()
    assert settings.argon2_memory_kib >= 65536 and settings.argon2_time_cost >= 2
