"""Limits that hold for the sandbox as a whole: its output is capped while it is read, and every
conversion of a student's answer runs under the time limit. (fast: a stand-in for the sandbox,
and the runner's functions in this process)"""
from __future__ import annotations

import sys
import time

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "assignments" / "tools"))
import runner  # noqa: E402
import sandbox  # noqa: E402

FLOOD = r'''
import sys, numpy as np
sys.path.insert(0, %r)
import runner
out = sys.stdout.buffer
runner.send(out, "q1_params", 0, [[np.zeros(3)]], None)
block = b"x" * (1 << 20)
while True:
    out.write(block)
'''


def test_output_is_capped_while_it_is_read_and_earlier_answers_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_works", lambda: True)
    monkeypatch.setattr(sandbox, "MAX_OUTPUT", 4 * 2 ** 20)
    script = FLOOD % str(ROOT / "assignments" / "tools")
    monkeypatch.setattr(sandbox, "command", lambda *args: [sys.executable, "-c", script])
    start = time.perf_counter()
    found, note = sandbox.run(tmp_path, timeout=60)
    assert time.perf_counter() - start < 30          # stopped at the cap, not at the time limit
    assert [f["question"] for f in found] == ["q1_params"]
    assert note and "wrote more than 4 MiB" in note and "keep their marks" in note, note


class Endless:
    def __array__(self, *args, **kwargs):
        while True:
            pass


class Talkative(Exception):
    def __str__(self):
        while True:
            pass


def test_converting_an_answer_is_under_the_time_limit(monkeypatch):
    monkeypatch.setattr(runner, "CALL_SECONDS", 1)
    question = {"cases": [{"kind": "value", "name": "answer"}]}
    groups, error = runner.answer(question, {"answer": Endless()}, {})
    assert groups is None and "did not finish within 1 s" in error


def test_an_exception_that_never_says_what_it_is_costs_two_seconds():
    start = time.perf_counter()
    assert runner.describe(Talkative()) == "an exception whose message could not be shown"
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("kind", ["value", "expr"])
def test_a_sympy_answer_that_never_converts_is_stopped(monkeypatch, kind):
    monkeypatch.setattr(runner, "CALL_SECONDS", 1)

    class Never:
        def _sympy_(self):
            while True:
                pass
    case = {"kind": kind, "name": "answer", "points": {"x_1": "1"}}
    groups, error = runner.answer({"cases": [case]}, {"answer": Never()}, {})
    assert groups is None and error, error


FORKS = r'''
import os, sys, time
count = 0
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        count += 1
    except OSError:
        break
open(sys.argv[1], "w").write(str(count))
'''

HOGS = r'''
import os, sys, time
for k in range(3):
    if os.fork() == 0:
        block = b"x" * (300 * 2 ** 20)
        time.sleep(2)
        open(os.path.join(sys.argv[1], f"ok{k}"), "w").write("held")
        os._exit(0)
time.sleep(4)
'''


def _group_or_skip():
    group = sandbox.Cgroup.make(2 ** 30, 8)
    if group is None:
        pytest.skip("no cgroup for the grader here: the per-process limits of prlimit apply")
    group.close()


def test_the_processes_of_a_sandbox_are_limited_whoever_grades(tmp_path, monkeypatch):
    _group_or_skip()
    monkeypatch.setattr(sandbox, "bwrap_works", lambda: True)
    count = tmp_path / "count"
    monkeypatch.setattr(sandbox, "command", lambda *args: [sys.executable, "-c", FORKS, str(count)])
    sandbox.run(tmp_path, timeout=60)
    assert int(count.read_text()) < sandbox.PROCESSES, count.read_text()


def test_the_memory_of_a_sandbox_is_limited_for_all_its_processes_together(tmp_path, monkeypatch):
    _group_or_skip()
    monkeypatch.setattr(sandbox, "bwrap_works", lambda: True)
    monkeypatch.setattr(sandbox, "MEMORY", 2 ** 29)
    monkeypatch.setattr(sandbox, "command", lambda *args: [sys.executable, "-c", HOGS, str(tmp_path)])
    _, note = sandbox.run(tmp_path, timeout=60)
    held = [p.name for p in tmp_path.glob("ok*")]
    assert len(held) < 3, held          # 3 x 300 MiB do not fit in 512 MiB together
    assert note and "more than 0 GiB of memory" not in note and "memory" in note, note


def _say():
    """Python source of say(name): one frame of the runner's channel on stdout in one write
    (atomic in a pipe), without numpy (the system's interpreter runs it)."""
    import io
    import numpy as np
    blob = io.BytesIO()
    np.save(blob, np.zeros(1))
    return (f"import json, os, sys\nBLOB = {blob.getvalue()!r}\n"
            "def say(name):\n"
            "    head = {'question': name, 'round': 'final', 'error': None, 'sizes': [len(BLOB)], 'groups': [1]}\n"
            "    os.write(1, json.dumps(head).encode() + b'\\n' + BLOB)\n")


SAY = _say()

BOMB = SAY + r'''
import time
count = 0
for _ in range(400):
    try:
        if os.fork() == 0:
            time.sleep(20)
            os._exit(0)
        count += 1
    except OSError:
        break
say(f"forked{count}")
'''

SWELL = SAY + r'''
import time
for k in range(3):
    if os.fork() == 0:
        block = b"x" * (300 * 2 ** 20)
        time.sleep(3)
        say(f"held{k}")
        os._exit(0)
time.sleep(5)
'''


@pytest.fixture
def no_cgroup(monkeypatch, tmp_path_factory):
    """The grader without a cgroup (BN_CGROUP=none), the sandbox's program a script of the test's
    in place of runner.py (in a folder every user can read), on both of the sandbox's paths;
    "bwrap, out of reach": bubblewrap, with the program in a folder only root can enter, as a venv
    under /root is."""
    import shutil
    import tempfile
    import types
    monkeypatch.setenv("BN_CGROUP", "none")
    folder = Path(tempfile.mkdtemp(prefix="bn-limits-", dir="/tmp"))
    folder.chmod(0o755)
    job = folder / "job"
    job.mkdir()
    closed = Path(tempfile.mkdtemp(prefix="bn-limits-root-", dir="/tmp"))     # mode 0700

    def use(script, path):
        if path == "fallback":
            monkeypatch.setenv("BN_SANDBOX", "fallback")
        sandbox.bwrap_works.cache_clear()
        program = (closed / "tools" if path == "bwrap, out of reach" else folder) / "program.py"
        program.parent.mkdir(mode=0o755, exist_ok=True)
        program.write_text(script)
        program.chmod(0o644)
        monkeypatch.setattr(sandbox, "RUNNER", program)
        # the system's interpreter, which every user can reach (a venv under /root is not)
        monkeypatch.setattr(sandbox, "sys", types.SimpleNamespace(
            executable="/usr/bin/python3", prefix="/usr", base_prefix="/usr"))
        return job
    yield use
    sandbox.bwrap_works.cache_clear()
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(closed, ignore_errors=True)


from pathlib import Path  # noqa: E402


@pytest.mark.parametrize("path", ["bwrap", "fallback", "bwrap, out of reach"])
def test_without_a_cgroup_a_fork_bomb_is_held_when_root_grades(no_cgroup, path):
    """No cgroup: the sandbox runs as a uid of its own, so prlimit's --nproc holds even for root;
    also when that uid cannot reach the grader's files (they are bound for it by root)."""
    import os
    if os.geteuid() != 0:
        pytest.skip("grading as a user: --nproc counts that user's processes (the instructors page)")
    job = no_cgroup(BOMB, path)
    found, note = sandbox.run(job, timeout=60)
    counts = [int(f["question"][6:]) for f in found if f["question"].startswith("forked")]
    assert counts and counts[0] < sandbox.PROCESSES, (counts, note)


@pytest.mark.parametrize("path", ["bwrap", "fallback", "bwrap, out of reach"])
def test_without_a_cgroup_the_memory_of_all_the_sandboxs_processes_is_watched(no_cgroup, monkeypatch, path):
    import os
    if os.geteuid() != 0:
        pytest.skip("grading as a user: no uid of the sandbox's own (the test below)")
    monkeypatch.setattr(sandbox, "MEMORY", 2 ** 29)
    job = no_cgroup(SWELL, path)
    found, note = sandbox.run(job, timeout=60)
    held = [f["question"] for f in found if f["question"].startswith("held")]
    assert len(held) < 3, held          # 3 x 300 MiB do not fit in 512 MiB together
    assert note and "memory" in note and "all its processes together" in note, note


@pytest.mark.parametrize("path", ["bwrap", "fallback"])
def test_grading_as_a_user_the_memory_of_all_the_sandboxs_processes_is_watched(no_cgroup, monkeypatch, path):
    """No cgroup and no uid of the sandbox's own (BN_ACCOUNT=none, as for an ordinary user): its
    processes are found by its PID namespace (bubblewrap) or its session (the fallback)."""
    monkeypatch.setenv("BN_ACCOUNT", "none")
    monkeypatch.setattr(sandbox, "MEMORY", 2 ** 29)
    job = no_cgroup(SWELL, path)
    found, note = sandbox.run(job, timeout=60)
    held = [f["question"] for f in found if f["question"].startswith("held")]
    assert len(held) < 3, held
    assert note and "all its processes together" in note, note


SHARE = SAY + r'''
import time
block = bytearray(200 * 2 ** 20)        # 200 MiB, touched, then shared with eight children
for k in range(0, len(block), 4096):
    block[k] = 1
for k in range(8):
    if os.fork() == 0:
        time.sleep(3)
        os._exit(0)
time.sleep(3.5)
say("shared")
'''


@pytest.mark.parametrize("path", ["bwrap", "fallback"])
def test_pages_forked_processes_share_are_counted_once(no_cgroup, monkeypatch, path):
    """Nine processes sharing 200 MiB hold 200 MiB, not 1.8 GiB: the watch does not stop them
    (a harmless fork used to be charged once per process, and stopped as a memory hog)."""
    import os
    if os.geteuid() != 0:
        monkeypatch.setenv("BN_ACCOUNT", "none")
    monkeypatch.setattr(sandbox, "MEMORY", 2 ** 29)
    job = no_cgroup(SHARE, path)
    found, note = sandbox.run(job, timeout=60)
    assert [f["question"] for f in found] == ["shared"], (found, note)
    assert note is None, note
