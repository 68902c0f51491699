"""Hashed passwords for the page's local sign-in (casewatch.passwords) and `casewatch password`."""

import subprocess
import sys

import pytest

from casewatch.access import AccessError, Identity, parse_access
from casewatch.passwords import PasswordFileError, check, hash_password, parse_password_file, verify_password


def test_a_password_verifies_against_its_hash_only() -> None:
    encoded = hash_password("correct horse battery staple")
    assert encoded.startswith("scrypt$16384$8$1$") and "correct" not in encoded
    assert verify_password(encoded, "correct horse battery staple")
    assert not verify_password(encoded, "correct horse battery stapler")
    assert hash_password("same", salt=b"s" * 16) == hash_password("same", salt=b"s" * 16)
    assert hash_password("same") != hash_password("same")  # a fresh salt each time
    assert not verify_password("md5$abc", "x") and not verify_password("scrypt$x$y$z$00$00", "x")
    assert not check({"jo": encoded}, "someone.else", "correct horse battery staple")


def test_the_password_file_is_read_and_a_bad_line_named_by_number_without_its_text() -> None:
    encoded = hash_password("a password of twelve")
    assert parse_password_file(f"# comment\n\njo.bloggs:{encoded}\n") == {"jo.bloggs": encoded}
    with pytest.raises(PasswordFileError, match="line 2 is not") as refused:
        parse_password_file(f"jo:{encoded}\nsam:hunter2\n")
    assert "hunter2" not in str(refused.value)


def test_users_come_with_a_password_file_and_sign_in_with_their_password() -> None:
    encoded = hash_password("a password of twelve")
    data = {"access": {"users": {"jo.bloggs": {"roles": ["viewer"], "teams": ["CIN East"]}}, "password_file": "pw"}}
    access = parse_access(data, legacy_tokens=(), secret=str, read_file=lambda path: f"jo.bloggs:{encoded}\n")
    person = Identity("jo.bloggs", frozenset({"viewer"}), frozenset({"CIN East"}))
    assert access.by_password("jo.bloggs", "a password of twelve") == person
    assert access.by_password("jo.bloggs", "wrong") is None and access.by_name("jo.bloggs") == person
    without_file = {"access": {"users": data["access"]["users"]}}
    with pytest.raises(AccessError, match="password_file"):
        parse_access(without_file, legacy_tokens=(), secret=str)


def test_casewatch_password_prints_a_line_for_the_file() -> None:
    done = subprocess.run([sys.executable, "-m", "casewatch", "password", "jo.bloggs"], input="a password of twelve\n",
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [(name, encoded)] = parse_password_file(done.stdout).items()
    assert name == "jo.bloggs" and verify_password(encoded, "a password of twelve")
    short = subprocess.run([sys.executable, "-m", "casewatch", "password", "jo"], input="short\n",
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
