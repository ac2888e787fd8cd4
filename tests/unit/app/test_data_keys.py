"""``KYB_DATA_KEYS`` (issue #13, R-B4): parsing names the bad entry, production refuses to start
without keys, development creates its key file once (0600) and keeps using it, and the
blind-index key does not move when a new data key is added."""

from __future__ import annotations

import base64
import stat

import pytest

from app.config import ConfigError, Settings
from app.crypto.data_keys import DataKeyError, DataKeys, instance_keys_file, load_data_keys

A = base64.b64encode(b"a" * 32).decode()
B = base64.b64encode(b"b" * 32).decode()


@pytest.mark.parametrize(("spec", "message"), [
    ("", "holds no key"),
    (f"x:{A}", "<version>:<base64 key>"),
    (f"0:{A}", "positive integer"),
    ("1:not-base64!", "entry 1 is not base64"),
    (f"1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
    (f"1:{A},1:{B}", "names version 1 twice"),
])
def test_a_malformed_spec_is_refused_naming_the_entry(spec, message):
    with pytest.raises(DataKeyError, match=message):
        DataKeys.parse(spec)


def test_settings_refuse_a_malformed_spec_at_start():
    with pytest.raises(ConfigError, match="must be 32 bytes"):
        Settings.from_env({"KYB_DATA_KEYS": "1:" + base64.b64encode(b"x").decode()})


def test_the_first_entry_is_current_and_a_new_version_keeps_the_index_key():
    old = DataKeys.parse(f"1:{A}")
    rotated = DataKeys.parse(f"2:{B},1:{A}")
    pinned = DataKeys.parse(f"2:{B},idx:{A}")
    assert (rotated.current, sorted(rotated.keys)) == (2, [1, 2])
    assert old.blind_index("p", "v") == rotated.blind_index("p", "v") == \
        pinned.blind_index("p", "v")
    sealed = old.seal("Ayşe", table="person", column="full_name_sealed", row_id="per_1")
    assert sealed.startswith("kd1:1:")
    assert rotated.open(sealed, table="person", column="full_name_sealed",
                        row_id="per_1") == "Ayşe"
    assert rotated.seal("Ayşe", table="person", column="full_name_sealed",
                        row_id="per_1").startswith("kd1:2:")


def test_production_refuses_to_start_without_data_keys(tmp_path):
    with pytest.raises(DataKeyError, match="refuses to start without KYB_DATA_KEYS"):
        load_data_keys(None, instance_path=str(tmp_path), production=True)
    assert not instance_keys_file(str(tmp_path)).exists()


def test_development_creates_its_key_file_once_readable_only_by_its_owner(tmp_path):
    first = load_data_keys(None, instance_path=str(tmp_path), production=False)
    path = instance_keys_file(str(tmp_path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_data_keys(None, instance_path=str(tmp_path), production=False)
    assert again == first and first.current == 1
    assert [p.name for p in tmp_path.iterdir()] == ["data-keys"]  # no draft left behind
