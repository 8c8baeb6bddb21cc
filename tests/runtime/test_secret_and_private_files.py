"""The installation secret and the private-file helpers: modes, owners, symlinks, where clients look."""

import os
import stat

import pytest

from sagaline.runtime import SecretError, load_or_create_secret, load_secret, secret_path
from sagaline.runtime.private import PrivacyError, ensure_private_dir, open_private, write_private


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_daemon_creates_the_secret_once_as_0600_hex_and_reads_it_back(tmp_path):
    secret = load_or_create_secret(tmp_path)
    path = tmp_path / "secret.key"
    assert len(secret) == 32 and mode(path) == 0o600
    assert path.read_text().strip() == secret.hex()
    assert load_or_create_secret(tmp_path) == secret == load_secret(path)


def test_a_secret_readable_by_others_stops_the_daemon_but_a_client_may_still_read_it(tmp_path):
    secret = load_or_create_secret(tmp_path)
    os.chmod(tmp_path / "secret.key", 0o644)
    with pytest.raises(SecretError, match=r"readable by other users.*chmod 600"):
        load_or_create_secret(tmp_path)
    assert load_secret(tmp_path / "secret.key") == secret


def test_a_symlinked_secret_is_refused_not_followed(tmp_path):
    real = tmp_path / "elsewhere"
    real.write_text("ab" * 32)
    (tmp_path / "secret.key").symlink_to(real)
    with pytest.raises(SecretError, match="symbolic link"):
        load_or_create_secret(tmp_path)
    with pytest.raises(SecretError, match="symbolic link"):
        load_secret(tmp_path / "secret.key")


@pytest.mark.parametrize("text, problem", [("zz" * 32, "not hex"), ("ab" * 8, "too short"), ("", "too short")])
def test_a_secret_file_that_is_not_32_hex_bytes_is_refused(tmp_path, text, problem):
    (tmp_path / "secret.key").write_text(text)
    with pytest.raises(SecretError, match=problem):
        load_secret(tmp_path / "secret.key")


def test_a_missing_secret_says_who_creates_it_and_how_a_client_points_elsewhere(tmp_path):
    with pytest.raises(SecretError, match=r"daemon creates it at its first start.*SAGALINE_SECRET_FILE"):
        load_secret(tmp_path / "secret.key")


def test_a_client_looks_at_the_explicit_path_then_the_environment_then_the_data_dir(tmp_path):
    env = {"SAGALINE_SECRET_FILE": "/from/env"}
    assert str(secret_path(tmp_path, "/explicit", environ=env)) == "/explicit"
    assert str(secret_path(tmp_path, environ=env)) == "/from/env"
    assert secret_path(tmp_path, environ={}) == tmp_path / "secret.key"


def test_a_missing_data_directory_is_created_0700(tmp_path):
    target = tmp_path / "a" / "data"
    previous = os.umask(0o022)
    try:
        ensure_private_dir(target)
    finally:
        os.umask(previous)
    assert mode(target) == 0o700


@pytest.mark.parametrize("loose", [0o750, 0o705, 0o777])
def test_a_data_directory_others_can_enter_is_refused_with_the_fix(tmp_path, loose):
    target = tmp_path / "data"
    target.mkdir()
    os.chmod(target, loose)
    with pytest.raises(PrivacyError, match=f"open to other users \\(mode {loose:04o}\\).*chmod 700"):
        ensure_private_dir(target)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a directory owned by another user needs root")
def test_a_data_directory_owned_by_another_user_is_refused(tmp_path):
    target = tmp_path / "data"
    target.mkdir(mode=0o700)
    os.chown(target, 65534, 65534)
    with pytest.raises(PrivacyError, match="belongs to uid 65534, not to you"):
        ensure_private_dir(target)


def test_open_private_refuses_a_symlink_and_a_fifo(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "link").symlink_to(victim)
    with pytest.raises(PrivacyError, match="symbolic link"):
        open_private(tmp_path / "link", os.O_RDWR | os.O_CREAT)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(PrivacyError, match="not a regular file"):
        open_private(tmp_path / "fifo", os.O_RDWR | os.O_NONBLOCK)
    assert victim.read_text() == "keep"


def test_write_private_removes_a_link_planted_at_its_temporary_and_leaves_the_target_alone(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "daemon.json.tmp").symlink_to(victim)
    write_private(tmp_path / "daemon.json", b"{}")
    assert victim.read_text() == "keep"
    assert (tmp_path / "daemon.json").read_text() == "{}" and mode(tmp_path / "daemon.json") == 0o600
    assert not (tmp_path / "daemon.json.tmp").exists()
