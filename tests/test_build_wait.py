"""make test's slow tests start while the book's build finishes: a test that needs the build
waits for it while its process runs, and fails, not hangs, when it ended without a result."""
from __future__ import annotations

import json
import subprocess
import sys

from book_build import RESULT, wait_for_build

WRITE_LATER = r'''
import json, pathlib, sys, time
time.sleep(1.5)
folder = pathlib.Path(sys.argv[1])
(folder / "build.json.partial").write_text(json.dumps({"returncode": 0, "log": "built"}))
(folder / "build.json.partial").replace(folder / "build.json")
'''


def test_a_test_waits_for_the_build_while_it_runs(tmp_path):
    build = subprocess.Popen([sys.executable, "-c", WRITE_LATER, str(tmp_path)])
    built = wait_for_build(tmp_path, build.pid)
    build.wait()
    assert built is not None and built.returncode == 0 and built.log == "built"


def test_a_build_that_ended_without_a_result_is_no_build(tmp_path):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert wait_for_build(tmp_path, ended.pid) is None
    assert wait_for_build(tmp_path) is None                 # no build running at all
    (tmp_path / RESULT).write_text(json.dumps({"returncode": 1, "log": "failed"}))
    assert wait_for_build(tmp_path).returncode == 1
