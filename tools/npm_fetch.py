"""Fetch pinned npm packages that the site serves itself, with no Node installed.

    python tools/npm_fetch.py DEST

downloads each package's tarball from the npm registry, checks it against the SHA-1 the
registry publishes for that version (pinned below, so a changed tarball is refused) and
unpacks it into ``DEST/<name>/``. A package already unpacked at its version is left alone.
"""
from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
PACKAGES = {  # name: (version, the registry's dist.shasum)
    "thebe": ("0.9.3", "3fa73a07fc8cd0f4caa50a2e7290ec0ff0ebe172"),  # Live Code (sphinx-thebe)
    # the style sheet and fonts of the math the build renders (book/_ext/local_katex.py); the
    # version is the one sphinxcontrib-katex renders with, which a test checks
    "katex": ("0.16.22", "d2b3d66464b1e6d69e6463b28a86ced5a02c5ccd"),
}


def installed(dest: Path, name: str, version: str) -> bool:
    manifest = dest / name / "package.json"
    return manifest.is_file() and json.loads(manifest.read_text()).get("version") == version


def fetch(dest: Path, name: str, version: str, sha1: str) -> None:
    url = f"{REGISTRY}/{name}/-/{name}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
    if hashlib.sha1(data).hexdigest() != sha1:
        sys.exit(f"npm_fetch: {url} does not match its pinned SHA-1 {sha1}; refusing it")
    target = dest / name
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("package/") and not m.name.endswith(".map")]
        for member in members:
            member.name = member.name.removeprefix("package/")
        tar.extractall(target, members=members, filter="data")
    print(f"npm_fetch: {name} {version} -> {target}")


def main(dest: str) -> None:
    for name, (version, sha1) in PACKAGES.items():
        if not installed(Path(dest), name, version):
            fetch(Path(dest), name, version, sha1)


if __name__ == "__main__":
    main(*sys.argv[1:] or ["book/_vendor"])
