"""The installed tree is the locked tree: every package at the version its lock file names.

``requirements.txt`` and ``requirements-test.txt`` are the readable top level; ``make lock``
compiles them into ``requirements.lock`` (the book, Binder) and ``requirements-test.lock``
(the book and its tests), which the Makefile installs. Only two things in the environment
are not from a lock: pip, which ``python -m venv`` puts there, and the book's own ``lib``.
"""
from __future__ import annotations

import re
from importlib import metadata

import pytest

from conftest import ROOT

NOT_LOCKED = {"pip", "bnbook-lib"}     # the venv's own installer, and this project (editable)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", re.M)


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path) -> dict[str, str]:
    return {_name(n): v for n, v in PIN.findall(path.read_text())}


def test_every_installed_package_is_at_its_locked_version():
    locked = pins(ROOT / "requirements-test.lock")
    installed = {_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    unlocked = sorted(n for n in installed if n not in locked and n not in NOT_LOCKED)
    assert not unlocked, f"installed but not in requirements-test.lock: {unlocked} (run `make lock`)"
    moved = {n: (installed[n], v) for n, v in locked.items() if n in installed and installed[n] != v}
    assert not moved, f"installed version differs from the lock (installed, locked): {moved}"
    missing = sorted(set(locked) - set(installed))
    assert not missing, f"locked but not installed: {missing}"


@pytest.mark.parametrize("source, lock", [("requirements.txt", "requirements.lock"),
                                          ("requirements-test.txt", "requirements-test.lock"),
                                          ("requirements.txt", "requirements-test.lock")])
def test_the_locks_hold_the_readable_pins(source, lock):
    """A pin edited in requirements*.txt without `make lock` is caught here."""
    top, tree = pins(ROOT / source), pins(ROOT / lock)
    stale = {n: (v, tree.get(n)) for n, v in top.items() if tree.get(n) != v}
    assert not stale, f"{source} and {lock} disagree (wanted, locked): {stale}; run `make lock`"


def test_the_book_lock_and_the_test_lock_agree():
    book, test = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-test.lock")
    assert {n: test.get(n) for n in book} == book
