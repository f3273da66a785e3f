"""What `find` prints in an image (slimmer.trace.find), against GNU find itself.

The same tree is written to disk and packed as a layer; GNU find runs on the disk copy, the
tracer's evaluation on the image. An expression the tracer evaluates exactly must give the same
paths; any other must give a superset (what the tracer keeps is never less than what find lists).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from slimmer.trace.argv import DynamicWord
from slimmer.trace.find import found_by, parse_find

import requires
from imagefactory import layer_from_dir, merged_rootfs

TREE = {
    "d/10-a.sh": "#!/bin/sh\n", "d/20-b.envsh": "X=1\n", "d/README": "text\n", "d/.hidden.sh": "#!/bin/sh\n",
    "d/sub/30-c.sh": "#!/bin/sh\n", "d/sub/deeper/40-d.conf": "x\n", "e/50-e.sh": "#!/bin/sh\n",
}
LINKS = {"d/linked": "../e", "d/dangling.sh": "../nowhere"}

EXACT = [
    ["d"], ["d/"], ["d", "-type", "f"], ["d/", "-follow", "-type", "f", "-print"], ["-L", "d", "-type", "f"],
    ["d", "-maxdepth", "1", "-name", "*.sh"], ["d", "-mindepth", "2", "-type", "f"], ["d", "-type", "d"],
    ["d", "-type", "l"], ["d", "-name", "*.SH"], ["d", "-iname", "*.SH"], ["d", "-path", "d/sub/*"],
    ["d", "e", "-name", "*.sh", "-type", "f"], ["d", "-type", "f,l", "-name", "[0-9]*"],
    ["d", "-name", "*.sh", "-a", "-type", "f"], ["missing"], ["d/10-a.sh"], ["d", "-maxdepth", "0"],
    ["d", "-name", "sub", "-prune"],
]
SUPERSET = [
    ["d", "!", "-name", "*.sh"], ["d", "-name", "*.sh", "-o", "-name", "*.envsh"],
    ["d", "(", "-type", "d", "-name", "sub", ")", "-prune", "-o", "-type", "f", "-print"],
    ["d", "-mindepth", "1", "-maxdepth", "1", "-type", "f", "-print", "-quit"], ["d", "-newer", "d/README"], ["d", "-empty"], ["d", "-size", "+0", "-type", "f"],
]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    for path, text in TREE.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    for path, target in LINKS.items():
        os.symlink(target, root / path)
    fs = merged_rootfs(tmp_path_factory.mktemp("image"), layer_from_dir(root)).rootfs
    return root, fs


def gnu_find(root, args: list[str]) -> set[str]:
    out = subprocess.run([requires.program("find"), *args], cwd=root, capture_output=True, text=True).stdout
    return set(out.splitlines())


@pytest.mark.parametrize("args", EXACT, ids=" ".join)
def test_exact_expressions_print_what_gnu_find_prints(tree, args):
    root, fs = tree
    assert set(found_by(fs, args, "/")) == gnu_find(root, args)
    assert parse_find(args).exact


@pytest.mark.parametrize("args", SUPERSET, ids=" ".join)
def test_other_expressions_print_at_least_what_gnu_find_prints(tree, args):
    root, fs = tree
    assert set(found_by(fs, args, "/")) >= gnu_find(root, args)


def test_absolute_starts_and_actions(tree):
    _, fs = tree
    assert found_by(fs, ["/d/", "-maxdepth", "1", "-name", "*.sh"]) == ["/d/.hidden.sh", "/d/10-a.sh", "/d/dangling.sh"]
    assert found_by(fs, ["/d", "-name", "*.sh", "-delete"]) == []  # prints nothing
    command = parse_find(["/d", "-type", "f", "-exec", "chmod", "644", "{}", ";", "-exec", "{}", "+"])
    assert command.commands == [["chmod", "644", "{}"], ["{}"]] and not command.prints
    assert found_by(fs, ["/d", "-name", DynamicWord("$PATTERN")]) is None
