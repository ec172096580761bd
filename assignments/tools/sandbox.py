"""Run ``runner.py`` on one submission inside bubblewrap, and read back its results.

The sandbox (Debian's ``bubblewrap``): new user, PID, network, IPC and UTS namespaces (no
network at all), user ``nobody``, no capabilities; the system, the Python environment and
the book's ``lib`` mounted read-only; a private empty ``/tmp`` and home; the job folder (the
submission and the grader's inputs, nothing else) read-only. ``prlimit`` caps each process's
address space, the processes of its user, file size and core dumps; a cgroup (or, without
one, a uid of the sandbox's own and a watch) limits them together; the grader's wall-clock
limit kills the sandbox, and with it every process the submission started (they live in its
PID namespace, whose first process dies).
Hidden tests, references and solutions are never inside: they stay in the grader.
"""
from __future__ import annotations

import fcntl
import functools
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

RUNNER = Path(__file__).resolve().with_name("runner.py")
MAX_OUTPUT = 64 * 2 ** 20          # bytes of results read back, at most
MEMORY = 2 * 2 ** 30               # address space of the submission
PROCESSES = 64                     # processes and threads of the submission's user


class SandboxMissing(RuntimeError):
    pass


_RUNNING: set = set()            # the sandboxes running now, for kill_all()


def kill_all() -> None:
    """Kill every running sandbox (the grader is being stopped): their process trees end."""
    for proc in list(_RUNNING):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass


def bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxMissing("bubblewrap (bwrap) is not installed: `make grade` and `make test` "
                             "install Debian's bubblewrap; or apt-get install bubblewrap")
    return path


def lib_parent() -> str:
    """The folder holding the ``lib`` this grader imports (the repository, or a zip's files/)."""
    import lib
    return str(Path(lib.__file__).resolve().parents[1])


def _binds(lib: str) -> list[str]:
    """The folders mounted read-only: the system, the interpreter, the environment, lib and the runner."""
    paths = ["/usr", "/etc/alternatives", "/etc/ssl", sys.base_prefix, sys.prefix,
             str(Path(lib) / "lib"), str(RUNNER.parent)]
    return [path for path in dict.fromkeys(paths) if Path(path).exists()]


def _mounts(lib: str, staged: dict | None = None) -> list[str]:
    """bubblewrap's read-only mounts; a folder in ``staged`` is bound from its staging place."""
    args = []
    for path in _binds(lib):
        args += ["--ro-bind", (staged or {}).get(path, path), path]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.is_dir():
            args += ["--ro-bind", str(target), f"/{link}"]
    return args


@functools.cache
def bwrap_works() -> bool:
    """Whether bubblewrap can make its namespaces here (not in every container: Gradescope's
    Docker images, for one, usually forbid unprivileged user namespaces). ``BN_SANDBOX=fallback``
    in the grader's environment forces the fallback (a test of Gradescope's usual case)."""
    if os.environ.get("BN_SANDBOX") == "fallback":
        return False
    try:
        probe = subprocess.run([bwrap(), "--unshare-all", "--ro-bind", "/", "/", "true"],
                               capture_output=True, timeout=30)
    except (SandboxMissing, OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


UNPRIVILEGED = 65534               # nobody


def unreachable(path) -> str | None:
    """The first directory on the way to ``path`` that a user other than its owner cannot
    search, or ``path`` itself when they cannot read it; None when all is open."""
    path = Path(os.path.realpath(path))
    for folder in [*reversed(path.parents), path]:
        try:
            mode = folder.stat().st_mode
        except OSError:
            return str(folder)
        needed = 0o001 if folder != path else 0o005 if folder.is_dir() else 0o004
        if mode & needed != needed:
            return str(folder)
    return None


def fallback_problem(lib: str) -> str | None:
    """Why user nobody could not run the grader's files, or None: the interpreter, the
    environment, lib and the runner must be reachable and readable by others."""
    if os.geteuid() != 0:
        return None
    for path in (sys.executable, sys.prefix, sys.base_prefix, Path(lib) / "lib" / "__init__.py",
                 RUNNER):
        blocked = unreachable(path)
        if blocked:
            return (f"the sandbox's user nobody cannot reach {path} ({blocked} is not open to other users); "
                    f"on Gradescope grading/gradescope.py opens it, elsewhere install the environment "
                    f"where other users can read it")
    return None


def _drop(uid: int) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all"]


def fallback(job: Path, cell_seconds: float, call_seconds: float, lib: str, uid: int | None = None) -> list[str]:
    """Without bubblewrap: the same limits, as an unprivileged user when the grader is root (the
    sandbox's own uid ``uid`` when there is no cgroup, else nobody; the job folder is
    world-readable; the rest of the grader's files are not, and the network is not cut). The
    instructors page says what this does not protect."""
    drop = _drop(uid or UNPRIVILEGED) if os.geteuid() == 0 and shutil.which("setpriv") else []
    return ["env", "-i", "HOME=/tmp", "PATH=/usr/bin:/bin", "MPLBACKEND=Agg", "OMP_NUM_THREADS=1",
            f"BN_LIB_PARENT={lib}",
            f"BN_CELL_SECONDS={cell_seconds}", f"BN_CALL_SECONDS={call_seconds}", *drop,
            "prlimit", f"--as={MEMORY}", f"--nproc={PROCESSES}", "--core=0", "--fsize=0",
            "--", sys.executable, "-I", str(RUNNER), str(job)]


def command(job: Path, cell_seconds: float, call_seconds: float, lib: str | None = None,
            uid: int | None = None) -> list[str]:
    """The sandbox's command; with ``uid`` (root grading without a cgroup), bubblewrap itself runs
    as that unprivileged user, so that the sandbox's processes are counted against it. The
    folders that user cannot reach (a venv under /root) are first bound by root, in a mount
    namespace of the sandbox's own, where it can (:func:`_staged`)."""
    lib = lib or lib_parent()
    if not bwrap_works():
        return fallback(job, cell_seconds, call_seconds, lib, uid)
    staging, staged = _staged(lib) if uid else ([], {})
    return [*staging, *(_drop(uid) if uid else []), bwrap(), "--unshare-all", "--uid", "65534",
            "--gid", "65534", "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--tmpfs", "/tmp",   # /tmp first: a
            *_mounts(lib, staged), "--proc", "/proc", "--dev", "/dev", "--dir", "/home/student",  # mount under it stays
            "--ro-bind", str(job), "/job", "--chdir", "/home/student", "--clearenv",
            "--setenv", "HOME", "/home/student", "--setenv", "PATH", "/usr/bin:/bin",
            "--setenv", "MPLBACKEND", "Agg", "--setenv", "BN_LIB_PARENT", lib,
            "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "OPENBLAS_NUM_THREADS", "1",
            "--setenv", "BN_CELL_SECONDS", str(cell_seconds), "--setenv", "BN_CALL_SECONDS", str(call_seconds),
            "prlimit", f"--as={MEMORY}", f"--nproc={PROCESSES}", "--core=0", "--fsize=0",
            "--", sys.executable, "-I", str(RUNNER), "/job"]


STAGE = Path("/run/bn-sandbox-mounts") if Path("/run").is_dir() else Path("/tmp/bn-sandbox-mounts")


def _staged(lib: str) -> tuple[list[str], dict]:
    """For bubblewrap as a uid of the sandbox's own: the folders of :func:`_binds` that uid cannot
    reach, bound by root onto empty folders under :data:`STAGE` (open to all) inside a mount
    namespace of the sandbox's own (``unshare --mount``: the grader's machine sees no mount),
    from where bubblewrap binds them at their own paths. Returns (the command's prefix, {folder:
    its staging place}); ([], {}) when every folder is reachable."""
    hidden = [path for path in _binds(lib) if unreachable(path)]
    if not hidden:
        return [], {}
    STAGE.mkdir(mode=0o755, exist_ok=True)
    info = STAGE.lstat()
    if info.st_uid != 0 or STAGE.is_symlink() or info.st_mode & 0o022:
        raise SandboxMissing(f"{STAGE} must be a folder of root's that only root can write")
    staged = {}
    for k, path in enumerate(hidden):
        (STAGE / str(k)).mkdir(mode=0o755, exist_ok=True)
        staged[path] = str(STAGE / str(k))
    pairs = [arg for path in hidden for arg in (path, staged[path])]
    script = "".join(f'mount --bind "${{{2 * k + 1}}}" "${{{2 * k + 2}}}" && ' for k in range(len(hidden)))
    return ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
            script + f'shift {len(pairs)} && exec "$@"', "sh", *pairs], staged


@functools.cache
def staging_works() -> bool:
    """Whether root may make a mount namespace here (as bubblewrap does, when it works as root)."""
    try:
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


CGROUPS = Path("/sys/fs/cgroup")
ACCOUNTS = range(61000, 61256)     # the sandboxes' own uids, where there is no cgroup
ACCOUNT_LOCKS = Path("/run/bn-sandbox") if Path("/run").is_dir() else Path("/tmp/bn-sandbox-root")


class Account:
    """A uid of the sandbox's own, for root grading where there is no cgroup: the sandbox runs as
    it, so prlimit's ``--nproc`` counts exactly its processes (root's are never counted, and
    nobody's are shared by every sandbox running at once); ``memory()`` sums the resident memory
    of all its processes, which the grader watches; ``close()`` kills every process of the uid.
    One grader at a time holds a uid (a lock file in a folder only root can write)."""

    def __init__(self, uid: int, lock: int):
        self.uid, self.lock = uid, lock

    @classmethod
    def claim(cls):
        if os.environ.get("BN_ACCOUNT") == "none" or os.geteuid() != 0 or not shutil.which("setpriv"):
            return None
        try:
            ACCOUNT_LOCKS.mkdir(mode=0o700, exist_ok=True)
            info = ACCOUNT_LOCKS.lstat()
            if info.st_uid != 0 or not ACCOUNT_LOCKS.is_dir() or ACCOUNT_LOCKS.is_symlink() or info.st_mode & 0o077:
                return None
        except OSError:
            return None
        for uid in ACCOUNTS:
            fd = os.open(ACCOUNT_LOCKS / f"{uid}.lock", os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            account = cls(uid, fd)
            account.kill()                       # nothing of an earlier sandbox is left to count
            return account
        return None

    def wrap(self, cmd: list[str]) -> list[str]:
        return cmd                               # command() drops to the uid itself

    def pids(self) -> list[int]:
        return _processes(lambda pid: _uid(pid) == self.uid)

    def memory(self) -> int:
        """Bytes the uid's processes hold together (:func:`_resident`)."""
        return _resident(self.pids())

    def kill(self) -> None:
        """Kill every process of the uid (kill -1 as that user: even one forked a moment ago)."""
        for _ in range(50):
            subprocess.run([*_drop(self.uid), "kill", "-9", "-1"], capture_output=True)
            if not self.pids():
                return
            time.sleep(0.02)

    def close(self) -> None:
        if self.lock is None:
            return
        self.kill()
        os.close(self.lock)
        self.lock = None



def _processes(belongs) -> list[int]:
    """The processes (pids) for which ``belongs(pid)`` holds; one that ends meanwhile is left out."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if belongs(int(entry.name)):
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            pass
    return found


def _uid(pid) -> int:
    """The real uid of ``pid``, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise ValueError(f"no Uid line for {pid}")


def _resident(pids) -> int:
    """Bytes of memory the processes ``pids`` hold together: each shared page counted once (its
    share in each process, the PSS of /proc/PID/smaps_rollup), so that processes forked from
    one another are not charged many times for the pages they share. Their resident sizes added
    up (one read of statm each) bound it from above; only above MEMORY is the PSS read."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
    if total <= MEMORY:
        return total
    shared = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    shared += int(line.split()[1]) * 1024
                    break
        except (OSError, ValueError, IndexError):
            pass
    return shared


class Processes:
    """The sandbox's processes where it has neither a cgroup nor a uid of its own (grading as an
    ordinary user): with bubblewrap, every process in its PID namespace (none leaves it); in the
    fallback, every process of its session (a process that starts a session of its own leaves
    it: the instructors page says so). ``memory()`` and ``kill()`` as :class:`Account`'s."""

    def __init__(self, proc):
        self.proc, self.namespace = proc, None
        self.own = os.readlink("/proc/self/ns/pid")      # the grader's PID namespace

    @staticmethod
    def _status(pid) -> tuple[int, int]:
        """(parent, session) of ``pid``, from /proc/PID/stat (after the name, which may hold spaces)."""
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[3])

    def pids(self) -> list[int]:
        return _processes(self._inside if bwrap_works() else lambda pid: self._status(pid)[1] == self.proc.pid)

    def _inside(self, pid) -> bool:
        """Whether ``pid`` is in the sandbox's PID namespace (found at bubblewrap's child)."""
        space = os.readlink(f"/proc/{pid}/ns/pid")
        if self.namespace is None and space != self.own and self._status(pid)[0] == self.proc.pid:
            self.namespace = space           # bubblewrap's child, the namespace's first process
        return space == self.namespace

    def memory(self) -> int:
        return _resident(self.pids())

    def kill(self) -> None:
        _kill(self.proc)
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    close = kill


class Cgroup:
    """A control group of the sandbox's own, where the machine lets the grader make one: a
    limit on its processes (pids) and on the memory of all of them together, whatever their
    user. ``wrap(cmd)`` starts ``cmd`` inside it; ``close()`` kills what is left and removes it.
    Where there is none (``Cgroup.make()`` returns None), the per-process limits of ``prlimit``
    remain (see the instructors page)."""

    def __init__(self, folders: list[Path]):
        self.folders = folders

    @classmethod
    def make(cls, memory: int, processes: int):
        if os.environ.get("BN_CGROUP") == "none":
            return None
        name = f"bn-sandbox-{os.getpid()}-{threading.get_ident()}-{os.urandom(4).hex()}"
        made = []
        try:
            own = {line.split(":", 2)[1]: line.split(":", 2)[2].strip()
                   for line in Path("/proc/self/cgroup").read_text().splitlines()}
            if (CGROUPS / "pids" / "pids.max").exists() or (CGROUPS / "memory" / "memory.limit_in_bytes").exists():
                for controller, limits in (("pids", {"pids.max": processes}),
                                           ("memory", {"memory.limit_in_bytes": memory})):
                    folder = CGROUPS / controller / own[controller].lstrip("/") / name
                    folder.mkdir()
                    made.append(folder)
                    for file, value in limits.items():
                        (folder / file).write_text(str(value))
            else:                                   # cgroup v2: one folder, both limits
                folder = CGROUPS / own[""].lstrip("/") / name
                folder.mkdir()
                made.append(folder)
                (folder / "pids.max").write_text(str(processes))
                (folder / "memory.max").write_text(str(memory))
                (folder / "memory.swap.max").write_text("0")
            return cls(made)
        except (OSError, KeyError, IndexError):
            cls(made).close()
            return None

    def wrap(self, cmd: list[str]) -> list[str]:
        procs = [str(f / "cgroup.procs") for f in self.folders]
        script = "".join(f'echo $$ > "${k + 1}" && ' for k in range(len(procs))) + f'shift {len(procs)} && exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *procs, *cmd]

    def close(self) -> None:
        for folder in self.folders:
            for _ in range(50):
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                time.sleep(0.02)
            try:
                folder.rmdir()
            except OSError:
                pass

    def oom_killed(self) -> bool:
        for folder in self.folders:
            for file, key in (("memory.oom_control", "oom_kill "), ("memory.events", "oom_kill ")):
                try:
                    for line in (folder / file).read_text().splitlines():
                        if line.startswith(key) and int(line.split()[1]) > 0:
                            return True
                except (OSError, ValueError, IndexError):
                    pass
            try:
                if int((folder / "memory.failcnt").read_text()) > 0:
                    return True
            except (OSError, ValueError):
                pass
        return False


def run(job: Path, timeout: float, cell_seconds: float = 60, call_seconds: float = 30,
        lib: str | None = None):
    """Run the sandbox on ``job`` with the ``lib`` under the folder ``lib`` (default: the one this
    grader imports); return (frames, note): the frames read, and why it stopped."""
    lib = lib or lib_parent()
    if not bwrap_works():
        problem = fallback_problem(lib)
        if problem:
            return [], problem
    os.chmod(job, 0o755)
    for file in job.iterdir():
        os.chmod(file, 0o644)
    group = Cgroup.make(MEMORY, PROCESSES)
    account = None if group else Account.claim()
    if account and bwrap_works() and fallback_problem(lib) and not staging_works():
        account.close()      # bubblewrap cannot run as the uid (the interpreter is out of its
        account = None       # reach, and no mount namespace to bind it): it runs as root, with
                             # prlimit's per-process limits only
    cmd = command(job, cell_seconds, call_seconds, lib, *([account.uid] if account else []))
    try:
        proc = subprocess.Popen(group.wrap(cmd) if group else cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        return _supervise(proc, timeout, group or account or Processes(proc))
    finally:
        if group:
            group.close()
        if account:
            account.close()


def _watch(proc, account, over, stop) -> None:
    """Without a cgroup: every 50 ms, the resident memory of all the sandbox's processes together
    (``account``: an Account or Processes); above MEMORY, the sandbox is killed. It stops
    (``stop``) before the uid is released: a late look must not see, and kill, the next sandbox
    that runs as the same uid."""
    while not stop.is_set() and proc.poll() is None:
        if account.memory() > MEMORY and not stop.is_set():
            over.set()
            _kill(proc)
            account.kill()
            return
        time.sleep(0.05)


def _supervise(proc, timeout, group):
    """Read the sandbox's output (capped) until it ends or its time is up; (frames, note).
    ``group`` is the sandbox's Cgroup, or its Account (no cgroup), or its Processes (neither)."""
    note = None
    _RUNNING.add(proc)
    over, stop, watcher = threading.Event(), threading.Event(), None
    if not isinstance(group, Cgroup):
        watcher = threading.Thread(target=_watch, args=(proc, group, over, stop), daemon=True)
        watcher.start()
    flooded = threading.Event()
    out, err = [], []
    readers = [threading.Thread(target=_read, args=(proc.stdout, MAX_OUTPUT, out, lambda: _flood(proc, flooded)),
                                daemon=True),
               threading.Thread(target=_read, args=(proc.stderr, MAX_ERRORS, err, None), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.wait()
        note = f"the submission did not finish within {timeout:g} s and was stopped"
    finally:
        _RUNNING.discard(proc)
        stop.set()
        if watcher:
            watcher.join()
    oom = over.is_set() or (isinstance(group, Cgroup) and group.oom_killed())
    if group:
        group.close()          # what the submission left behind holds no pipe open (an Account
                               # is released by run(), which closes it again harmlessly)
    for reader in readers:
        reader.join(timeout=10)
    if flooded.is_set():
        note = (f"the submission wrote more than {MAX_OUTPUT // 2 ** 20} MiB of results and was stopped there; "
                f"the answers checked before that keep their marks")
    elif note is None and oom:
        note = (f"the submission used more than {MEMORY / 2 ** 30:g} GiB of memory (all its processes "
                f"together) and was stopped; the answers checked before that keep their marks")
    elif note is None and proc.returncode not in (0, None):
        note = f"the submission's process ended with status {proc.returncode}"
        error = b"".join(err)
        if b"bwrap:" in error:
            note += f" ({error.decode(errors='replace').strip()[-300:]})"
    return frames(b"".join(out)), note


MAX_ERRORS = 64 * 2 ** 10          # bytes of the sandbox's error output kept (bwrap's messages)


def _kill(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def _flood(proc, flooded) -> None:
    flooded.set()
    _kill(proc)


def _read(stream, cap: int, chunks: list, at_cap) -> None:
    """Read ``stream`` into ``chunks`` while reading, never more than ``cap`` bytes: at the cap,
    ``at_cap()`` (kill the sandbox), or with none, read on and drop the rest."""
    size = 0
    while True:
        data = stream.read1(1 << 16)
        if not data:
            return
        if size + len(data) > cap:
            chunks.append(data[:cap - size])
            size = cap
            if at_cap is not None:
                at_cap()
                return
            continue
        if size < cap:
            chunks.append(data)
            size += len(data)


def frames(data: bytes) -> list[dict]:
    """Parse the runner's frames; stop at the first malformed one (it is the student's)."""
    found, stream = [], io.BytesIO(data)
    while True:
        line = stream.readline()
        if not line:
            return found
        try:
            header = json.loads(line)
            sizes, counts = [int(n) for n in header["sizes"]], [int(n) for n in header["groups"]]
            if sum(counts) != len(sizes) or min(counts + sizes, default=0) < 0:
                return found
            arrays = [np.load(io.BytesIO(stream.read(n)), allow_pickle=False) for n in sizes]
            groups = [arrays[sum(counts[:k]):sum(counts[:k + 1])] for k in range(len(counts))]
            error = header["error"]
            found.append({"question": str(header["question"]), "round": str(header["round"]),
                          "error": None if error is None else str(error)[:500], "groups": groups})
        except (ValueError, KeyError, TypeError, OSError, EOFError):
            return found
