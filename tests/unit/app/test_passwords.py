"""Password hashing (``app.web.passwords``): argon2id with RFC 9106's parameters in production,
any argon2id hash checked, a hash with other parameters rehashed at the next login."""

from __future__ import annotations

from argon2 import PasswordHasher

from app.web import passwords

PASSWORD = "a long staff password 2026"  # noqa: S105 - a test value


def test_production_hashes_are_argon2id_with_rfc_9106_parameters():
    hasher = passwords.PRODUCTION_HASHER
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)
    assert hasher.hash(PASSWORD).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_suite_hashes_cheaply_with_the_same_code_path():
    assert passwords._hasher is not passwords.PRODUCTION_HASHER  # tests/conftest.py
    stored = passwords.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert passwords.check_password(stored, PASSWORD)
    assert not passwords.check_password(stored, PASSWORD + "!")
    assert not passwords.check_password("not a hash", PASSWORD)


def test_a_hash_with_other_parameters_is_checked_and_marked_for_rehash():
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    assert passwords.check_password(stronger, PASSWORD)
    assert passwords.needs_rehash(stronger)
    assert not passwords.needs_rehash(passwords.hash_password(PASSWORD))
    assert passwords.needs_rehash("not a hash")
