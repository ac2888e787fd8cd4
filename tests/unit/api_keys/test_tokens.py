"""Token format, offline parsing and peppered hashing."""

from __future__ import annotations

import re

import pytest

from api_keys.tokens import (
    TOKEN_LENGTH,
    TOKEN_PATTERN,
    IssuedToken,
    Peppers,
    generate,
    hash_token,
    needs_rehash,
    parse,
    token_matches,
)


@pytest.mark.parametrize("environment", ["live", "test"])
def test_generated_token_parses_back_to_its_key_id_and_environment(environment):
    issued = generate(environment)
    parsed = parse(issued.token)
    assert parsed
    assert (parsed.key_id, parsed.environment, parsed.prefix) == (
        issued.key_id,
        environment,
        f"kyb_{environment}_{issued.key_id}",
    )
    assert issued.token.startswith(issued.prefix + "_")
    assert len(issued.token) == TOKEN_LENGTH == 71


def test_generated_tokens_are_unique_and_match_the_documented_scanner_regex():
    tokens = {generate("live").token for _ in range(200)}
    assert len(tokens) == 200
    assert all(re.fullmatch(TOKEN_PATTERN, token) for token in tokens)
    assert re.search(TOKEN_PATTERN, f"leaked: {next(iter(tokens))}, oops")


def test_generate_refuses_an_unknown_environment():
    with pytest.raises(ValueError):
        generate("prod")


def test_token_never_appears_in_repr():
    issued = generate("live")
    secret_part = issued.token[len(issued.prefix) :]
    assert secret_part not in repr(issued)
    assert secret_part not in repr(parse(issued.token))


def _flip_last_char(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def _replace_at(token: str, index: int, char: str) -> str:
    return token[:index] + char + token[index + 1 :]


# A fixed, well-formed token: parametrize ids must be the same in every xdist worker.
VALID = "kyb_live_38zsLWc8p7FK_OfgOmbboPH4FL9ErPUiUvwHFR9IrPlSrRLZkZDitTxq2pnnc8"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "not_a_string"),
        (VALID.encode(), "not_a_string"),
        ("", "length"),
        (VALID[:-1], "length"),
        (VALID + "a", "length"),
        (" " + VALID[1:], "format"),
        ("x" * 10_240, "length"),
        (_flip_last_char(VALID), "checksum"),
        (_replace_at(VALID, 30, "Z" if VALID[30] != "Z" else "Y"), "checksum"),
        ("kyb_prod" + VALID[8:], "format"),
        ("KYB_LIVE" + VALID[8:], "format"),
        ("ghp_live" + VALID[8:], "format"),
        (_replace_at(VALID, 21, "-"), "format"),  # separator after the key id
        (_replace_at(VALID, 40, "_"), "format"),
        (_replace_at(VALID, 2, "\u0432"), "non_ascii"),  # Cyrillic в
        (_replace_at(VALID, 0, "\u043a"), "non_ascii"),  # Cyrillic к for k
        (_replace_at(VALID, 30, "\uff21"), "non_ascii"),  # full-width A
        (_replace_at(VALID, 30, "\u0661"), "non_ascii"),  # Arabic-Indic digit one
        (_replace_at(VALID, 30, "\x00"), "format"),
    ],
)
def test_parse_refuses_malformed_and_forged_tokens(token, reason):
    result = parse(token)
    assert not result
    assert result.reason == reason


def test_changing_the_environment_prefix_breaks_the_checksum():
    forged = VALID.replace("kyb_live_", "kyb_test_", 1)
    assert parse(forged).reason == "checksum"


@pytest.fixture
def peppers():
    return Peppers({1: b"a" * 32, 2: b"b" * 32}, current=2)


def test_hash_uses_the_current_pepper_and_matches_only_that_token(peppers):
    token = generate("live").token
    version, digest = hash_token(token, peppers)
    assert version == 2
    assert len(digest) == 64
    assert token_matches(token, digest, version, peppers)
    assert not token_matches(generate("live").token, digest, version, peppers)
    assert not token_matches(token, digest, 1, peppers)
    assert not token_matches(token, digest, 99, peppers)
    assert not token_matches(token, digest.upper(), version, peppers)


def test_hash_made_under_an_old_pepper_still_matches_after_rotation():
    token = generate("live").token
    old = Peppers({1: b"a" * 32}, current=1)
    version, digest = hash_token(token, old)
    rotated = Peppers({1: b"a" * 32, 2: b"b" * 32}, current=2)
    assert token_matches(token, digest, version, rotated)
    assert needs_rehash(version, rotated)
    assert not needs_rehash(2, rotated)


@pytest.mark.parametrize(
    ("peppers", "current"),
    [({1: b"short"}, 1), ({1: b"a" * 32}, 2), ({1: "not-bytes-" * 4}, 1)],
)
def test_peppers_refuse_short_missing_or_text_secrets(peppers, current):
    with pytest.raises(ValueError):
        Peppers(peppers, current=current)


def test_peppers_repr_hides_the_secrets(peppers):
    assert "bbbb" not in repr(peppers)
    assert repr(peppers) == "Peppers(versions=(1, 2), current=2)"


def test_issued_token_is_frozen():
    issued = generate("test")
    assert isinstance(issued, IssuedToken)
    with pytest.raises(AttributeError):
        issued.key_id = "x"  # type: ignore[misc]
