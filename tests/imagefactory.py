"""Small synthetic layers and images, in every layout slimmer reads, for tests.

    from imagefactory import (make_layer, File, Symlink, Hardlink, Whiteout, Opaque,
                              SyntheticImage, write_docker_archive, write_oci_layout)

    base = make_layer([
        "etc/",                                  # a directory (a str ending in "/")
        ("etc/a", b"data"),                      # a regular file, mode 0644
        ("bin/app", File(b"\\x7fELF...", mode=0o755)),
        ("lib/x", Symlink("../y")),
        ("lib/h", Hardlink("etc/a")),
    ])
    top = make_layer([("etc/a", Whiteout()),      # -> etc/.wh.a
                      ("var/cache", Opaque())])   # -> var/cache/.wh..wh..opq
    image = SyntheticImage([base, top], config_extra={"Entrypoint": ["/bin/app"]},
                           tags=["test:latest"])
    write_docker_archive(tmp_path / "img.tar", image)         # legacy `docker save` layout
    write_docker_archive(tmp_path / "new.tar", image, layout="oci")   # Docker 25+ layout
    write_oci_layout(tmp_path / "oci", image, compression="zstd")
    write_oci_archive(tmp_path / "oci.tar", image, compression="gzip")

Everything is deterministic (mtime 0, uid/gid 0) unless asked otherwise. The writers also take
`layers, config_extra=..., tags=...` directly instead of a SyntheticImage, and have hooks to
produce damaged images (wrong diff_ids, wrong media types, extra or missing members, a
rewritten manifest.json).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard

__all__ = [
    "HELLO_C",
    "Device",
    "Dir",
    "Fifo",
    "File",
    "Hardlink",
    "Opaque",
    "Symlink",
    "SyntheticImage",
    "Whiteout",
    "compile_static",
    "compress",
    "digest",
    "layer_from_dir",
    "make_config",
    "make_layer",
    "merged_rootfs",
    "tar_directory",
    "write_docker_archive",
    "write_oci_archive",
    "write_oci_layout",
    "write_tar",
]

ENTRY = Any  # str ("dir/") or (name, value)


# --- entries of a layer ---------------------------------------------------------------------

@dataclass(frozen=True)
class Dir:
    mode: int = 0o755
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class File:
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    xattrs: dict | None = None  # e.g. {"security.capability": "..."}; written as PAX headers


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Hardlink:
    target: str  # a path inside the layer (as tar stores it)


@dataclass(frozen=True)
class Whiteout:
    """Deletes NAME from the layers below: written as DIR/.wh.BASE."""


@dataclass(frozen=True)
class Opaque:
    """Hides everything below in directory NAME: written as NAME/.wh..wh..opq."""


@dataclass(frozen=True)
class Fifo:
    mode: int = 0o644


@dataclass(frozen=True)
class Device:
    major: int
    minor: int
    char: bool = True
    mode: int = 0o666


def digest(data: bytes) -> str:
    """"sha256:HEX" of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


_COMPRESSORS = {
    "gzip": lambda data: gzip.compress(data, compresslevel=6, mtime=0),
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "bzip2": bz2.compress,
    "xz": lzma.compress,
}


def compress(data: bytes, kind: str | None) -> bytes:
    """gzip / zstd / bzip2 / xz / None (unchanged), deterministic."""
    return data if kind in (None, "tar", "none") else _COMPRESSORS[kind](data)


def _tarinfo(name: str, value: Any, mtime: int) -> tuple[tarfile.TarInfo, bytes | None]:
    if isinstance(value, (bytes, bytearray)):
        value = File(bytes(value))
    elif isinstance(value, str):
        value = File(value.encode())
    elif value is None:
        value = Dir()
    if isinstance(value, Whiteout):
        head, _, base = name.rstrip("/").rpartition("/")
        name = f"{head}/.wh.{base}" if head else f".wh.{base}"
        value = File(b"")
    elif isinstance(value, Opaque):
        name = name.rstrip("/") + "/.wh..wh..opq"
        value = File(b"")
    ti = tarfile.TarInfo(name)
    ti.mtime = mtime
    ti.uname = ti.gname = ""
    data = None
    if isinstance(value, Dir):
        ti.type, ti.mode, ti.uid, ti.gid = tarfile.DIRTYPE, value.mode, value.uid, value.gid
        ti.name = name.rstrip("/")
    elif isinstance(value, File):
        ti.type, ti.mode, ti.uid, ti.gid, ti.size = tarfile.REGTYPE, value.mode, value.uid, value.gid, len(value.data)
        if value.xattrs:
            ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in value.xattrs.items()}
        data = value.data
    elif isinstance(value, Symlink):
        ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, value.target, 0o777
    elif isinstance(value, Hardlink):
        ti.type, ti.linkname, ti.mode = tarfile.LNKTYPE, value.target, 0o644
    elif isinstance(value, Fifo):
        ti.type, ti.mode = tarfile.FIFOTYPE, value.mode
    elif isinstance(value, Device):
        ti.type = tarfile.CHRTYPE if value.char else tarfile.BLKTYPE
        ti.devmajor, ti.devminor, ti.mode = value.major, value.minor, value.mode
    else:
        raise TypeError(f"unknown layer entry for {name!r}: {value!r}")
    return ti, data


def _normalise(entries: Iterable[ENTRY]) -> list[tuple[str, Any]]:
    out = []
    for e in entries:
        if isinstance(e, str):
            out.append((e, Dir() if e.endswith("/") else File(b"")))
        else:
            name, value = e
            out.append((name, value))
    return out


def make_layer(entries: Iterable[ENTRY], *, mtime: int = 0, parents: bool = False,
               format: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed layer tar holding `entries`, in the order given.

    An entry is "dir/" or (name, value) with value: bytes/str (a 0644 file), None (a
    directory), or File, Dir, Symlink, Hardlink, Whiteout, Opaque, Fifo, Device.
    parents=True adds missing parent directories (0755) before their first child.
    """
    buf = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=format) as tf:
        for name, value in _normalise(entries):
            if parents:
                parts = name.strip("/").split("/")
                for i in range(1, len(parts)):
                    d = "/".join(parts[:i])
                    if d not in seen:
                        seen.add(d)
                        ti, _ = _tarinfo(d + "/", Dir(), mtime)
                        tf.addfile(ti)
            ti, data = _tarinfo(name, value, mtime)
            seen.add(ti.name.rstrip("/"))
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def write_tar(path: Path | str, entries: Iterable[ENTRY], **kwargs) -> Path:
    """Write `make_layer(entries)` to a file (handy for hand-made, even hostile, archives)."""
    path = Path(path)
    path.write_bytes(make_layer(entries, **kwargs))
    return path


def layer_from_dir(root: Path | str, *, mtime: int | None = 0) -> bytes:
    """A layer tar of a real directory tree (sorted, uid/gid 0, mtime 0 unless mtime=None)."""
    root = Path(root)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                full = Path(dirpath) / name
                ti = tf.gettarinfo(str(full), arcname=str(full.relative_to(root)))
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = ""
                if mtime is not None:
                    ti.mtime = mtime
                if ti.isreg():
                    with open(full, "rb") as f:
                        tf.addfile(ti, f)
                else:
                    tf.addfile(ti)
    return buf.getvalue()


def tar_directory(src: Path | str, dest: Path | str) -> Path:
    """Deterministic tar of a directory's contents (e.g. an OCI layout -> an oci-archive)."""
    Path(dest).write_bytes(layer_from_dir(src))
    return Path(dest)


# --- configs and images -----------------------------------------------------------------------

_CONTAINER_KEYS = {"Entrypoint", "Cmd", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes",
                   "Labels", "StopSignal", "Healthcheck", "Shell", "ArgsEscaped", "OnBuild"}


def make_config(diff_ids: Sequence[str], config_extra: dict | None = None, *,
                architecture: str = "amd64", os_name: str = "linux") -> bytes:
    """An image config for these diff_ids, as compact JSON.

    config_extra keys that are container settings (Entrypoint, Cmd, Env, WorkingDir, User,
    Labels, ...) go into "config"; any other key is set at the top level (and may override).
    """
    doc: dict[str, Any] = {
        "architecture": architecture,
        "os": os_name,
        "created": "1970-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": f"synthetic layer {i}"}
                    for i in range(1, len(diff_ids) + 1)],
    }
    for key, value in (config_extra or {}).items():
        if key in _CONTAINER_KEYS:
            doc["config"][key] = value
        else:
            doc[key] = value
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class SyntheticImage:
    """Uncompressed layer tars plus a config; diff_ids= overrides the real ones (to corrupt)."""

    layers: list[bytes]
    config_extra: dict | None = None
    tags: list[str] = field(default_factory=lambda: ["test:latest"])
    platform: tuple[str, str] = ("linux", "amd64")
    diff_ids: list[str] | None = None
    config_bytes: bytes = b""

    def __post_init__(self) -> None:
        if self.diff_ids is None:
            self.diff_ids = [digest(layer) for layer in self.layers]
        if not self.config_bytes:
            self.config_bytes = make_config(self.diff_ids, self.config_extra,
                                            architecture=self.platform[1], os_name=self.platform[0])

    @property
    def config_digest(self) -> str:
        return digest(self.config_bytes)

    @property
    def config(self) -> dict:
        return json.loads(self.config_bytes)


def _images(images: Any, config_extra: dict | None, tags: list[str] | None) -> list[SyntheticImage]:
    if isinstance(images, SyntheticImage):
        return [images]
    images = list(images)
    if images and all(isinstance(i, SyntheticImage) for i in images):
        return images
    if all(isinstance(i, (bytes, bytearray)) for i in images):
        return [SyntheticImage([bytes(i) for i in images], config_extra,
                               tags=list(tags) if tags is not None else ["test:latest"])]
    raise TypeError("expected a SyntheticImage, a list of them, or a list of layer tars")


def _tar_bytes(members: list[tuple[str, bytes | None]]) -> bytes:
    """A deterministic tar of (name, data) pairs; data None makes a directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in members:
            ti = tarfile.TarInfo(name.rstrip("/"))
            ti.mtime, ti.uname, ti.gname = 0, "", ""
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            elif isinstance(data, Symlink):
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, data.target, 0o777
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _cj(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def write_docker_archive(path: Path | str, images: Any, config_extra: dict | None = None,
                         tags: list[str] | None = None, *, layout: str = "legacy",
                         compression: str | None = None,
                         mutate_manifest: Callable[[list], Any] | None = None,
                         extra_members: Sequence[tuple[str, Any]] = (),
                         omit_members: Iterable[str] = (),
                         dedupe_with_symlinks: bool = False) -> Path:
    """A `docker save` archive of one or more images.

    layout="legacy": <id>/layer.tar + <confighex>.json + manifest.json + repositories (Docker <25).
    layout="oci": Docker 25+: blobs/sha256/... + index.json + oci-layout + manifest.json.
    compression compresses the layer tars (docker load accepts gzip layers in archives).
    mutate_manifest(manifest_list) may edit the list in place or return a replacement.
    dedupe_with_symlinks makes a repeated layer a symlink to the first copy, as docker save does.
    """
    path = Path(path)
    images = _images(images, config_extra, tags)
    members: dict[str, Any] = {}
    manifest = []
    index_manifests = []
    repositories: dict[str, dict[str, str]] = {}
    first_copy: dict[str, str] = {}
    for img in images:
        layer_paths = []
        chain = None
        for layer in img.layers:
            diff_id = digest(layer)
            stored = compress(layer, compression)
            if layout == "oci":
                name = f"blobs/sha256/{digest(stored).split(':')[1]}"
                members["blobs/"] = None
                members["blobs/sha256/"] = None
                members[name] = stored
            else:
                chain = diff_id if chain is None else digest(f"{chain} {diff_id}".encode())
                layer_id = hashlib.sha256(f"{chain}|{digest(stored)}".encode()).hexdigest()
                name = f"{layer_id}/layer.tar"
                members[f"{layer_id}/"] = None
                members[f"{layer_id}/VERSION"] = b"1.0"
                members[f"{layer_id}/json"] = _cj({"id": layer_id})
                key = digest(stored)
                if dedupe_with_symlinks and key in first_copy and first_copy[key] != name:
                    members[name] = Symlink(f"../{first_copy[key]}")
                else:
                    members[name] = stored
                    first_copy.setdefault(key, name)
            layer_paths.append(name)
        cfg_hex = img.config_digest.split(":")[1]
        config_name = f"blobs/sha256/{cfg_hex}" if layout == "oci" else f"{cfg_hex}.json"
        members[config_name] = img.config_bytes
        manifest.append({"Config": config_name, "RepoTags": list(img.tags) or None, "Layers": layer_paths})
        for tag in img.tags:
            repo, _, t = tag.rpartition(":")
            repositories.setdefault(repo, {})[t] = layer_paths[-1].split("/")[-2] if layer_paths else ""
        if layout == "oci":
            mt = "application/vnd.oci.image.layer.v1.tar" + ({"gzip": "+gzip", "zstd": "+zstd"}.get(compression or "", ""))
            m = _cj({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                     "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                "digest": img.config_digest, "size": len(img.config_bytes)},
                     "layers": [{"mediaType": mt, "digest": digest(s), "size": len(s)}
                                for s in (compress(l, compression) for l in img.layers)]})
            members[f"blobs/sha256/{digest(m).split(':')[1]}"] = m
            for tag in img.tags or [None]:
                desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": digest(m), "size": len(m)}
                if tag:
                    desc["annotations"] = {"io.containerd.image.name": f"docker.io/library/{tag}",
                                           "org.opencontainers.image.ref.name": tag.rpartition(":")[2]}
                index_manifests.append(desc)
    if mutate_manifest is not None:
        result = mutate_manifest(manifest)
        if result is not None:
            manifest = result
    members["manifest.json"] = manifest if isinstance(manifest, bytes) else _cj(manifest)
    if layout == "oci":
        members["index.json"] = _cj({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                     "manifests": index_manifests})
        members["oci-layout"] = _cj({"imageLayoutVersion": "1.0.0"})
    elif repositories:
        members["repositories"] = _cj(repositories)
    for name in omit_members:
        members.pop(name, None)
    items = sorted(members.items()) + list(extra_members)
    path.write_bytes(_tar_bytes(items))
    return path


_OCI_LAYER_TYPES = {None: "application/vnd.oci.image.layer.v1.tar",
                    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}


def write_oci_layout(directory: Path | str, images: Any, config_extra: dict | None = None,
                     tags: list[str] | None = None, *, compression: str | None = "gzip",
                     refs: Sequence[str | None] | None = None, as_index: bool = False,
                     media_types: Sequence[str] | None = None, docker_media_types: bool = False,
                     omit_blobs: Iterable[str] = ()) -> Path:
    """An OCI image layout directory.

    Each image gets an index.json entry annotated org.opencontainers.image.ref.name = refs[i]
    (default: the image's first tag, e.g. "test:latest"; None for no annotation).
    as_index=True puts all images in one image index blob instead, by their .platform, with
    a single index.json entry (annotated refs[0]).
    media_types overrides the layer media types (to test content sniffing);
    docker_media_types uses Docker's manifest/config/layer media types.
    omit_blobs: digests whose blob file to leave out.
    """
    directory = Path(directory)
    images = _images(images, config_extra, tags)
    blobs: dict[str, bytes] = {}

    def put(data: bytes) -> str:
        d = digest(data)
        blobs[d] = data
        return d

    manifest_type = ("application/vnd.docker.distribution.manifest.v2+json" if docker_media_types
                     else "application/vnd.oci.image.manifest.v1+json")
    config_type = ("application/vnd.docker.container.image.v1+json" if docker_media_types
                   else "application/vnd.oci.image.config.v1+json")
    descs = []
    for img in images:
        layer_descs = []
        for i, layer in enumerate(img.layers):
            stored = compress(layer, compression)
            if media_types is not None:
                mt = media_types[i]
            elif docker_media_types:
                mt = ("application/vnd.docker.image.rootfs.diff.tar.gzip" if compression == "gzip"
                      else "application/vnd.docker.image.rootfs.diff.tar")
            else:
                mt = _OCI_LAYER_TYPES[compression]
            layer_descs.append({"mediaType": mt, "digest": put(stored), "size": len(stored)})
        manifest = _cj({"schemaVersion": 2, "mediaType": manifest_type,
                        "config": {"mediaType": config_type, "digest": put(img.config_bytes),
                                   "size": len(img.config_bytes)},
                        "layers": layer_descs})
        descs.append({"mediaType": manifest_type, "digest": put(manifest), "size": len(manifest),
                      "platform": {"os": img.platform[0], "architecture": img.platform[1]}})
    if refs is None:
        refs = [img.tags[0] if img.tags else None for img in images]
    if as_index:
        index_blob = _cj({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": descs})
        top = [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": put(index_blob),
                "size": len(index_blob)}]
        if refs and refs[0]:
            top[0]["annotations"] = {"org.opencontainers.image.ref.name": refs[0]}
    else:
        top = []
        for desc, ref in zip(descs, refs):
            desc = {k: v for k, v in desc.items() if k != "platform"}
            if ref:
                desc["annotations"] = {"org.opencontainers.image.ref.name": ref}
            top.append(desc)
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "blobs" / "sha256").mkdir(parents=True)
    omit = set(omit_blobs)
    for d, data in blobs.items():
        if d not in omit:
            (directory / "blobs" / "sha256" / d.split(":")[1]).write_bytes(data)
    (directory / "oci-layout").write_bytes(_cj({"imageLayoutVersion": "1.0.0"}))
    (directory / "index.json").write_bytes(_cj({"schemaVersion": 2, "manifests": top,
                                                "mediaType": "application/vnd.oci.image.index.v1+json"}))
    return directory


def write_oci_archive(path: Path | str, images: Any, config_extra: dict | None = None,
                      tags: list[str] | None = None, **kwargs) -> Path:
    """A tar of write_oci_layout(...) (same keyword arguments)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".layout")
    write_oci_layout(tmp, images, config_extra, tags, **kwargs)
    try:
        tar_directory(tmp, path)
    finally:
        shutil.rmtree(tmp)
    return path


# --- a real static binary, for images that must run -----------------------------------------

HELLO_C = r"""
#include <stdio.h>
int main(int argc, char **argv) {
    puts("hello from slimmer");
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");
        if (!f) { printf("missing %s\n", argv[i]); continue; }
        char buf[256]; size_t n = fread(buf, 1, sizeof buf - 1, f); buf[n] = 0;
        printf("%s: %s", argv[i], buf);
        fclose(f);
    }
    return 0;
}
"""


def compile_static(out: Path | str, source: str = HELLO_C) -> Path:
    """Compile C source into a static executable with gcc -static; RuntimeError if impossible.

    The default program prints "hello from slimmer", then the contents of each file named on
    its command line.
    """
    out = Path(out)
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise RuntimeError("no C compiler (gcc) found")
    src = out.with_suffix(".c")
    src.write_text(source)
    proc = subprocess.run([gcc, "-static", "-O2", "-o", str(out), str(src)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"gcc -static failed: {proc.stderr.strip()[:500]}")
    return out


# --- merged root filesystems for tracer tests ------------------------------------------------

def merged_rootfs(directory: Path | str, *layers: bytes):
    """Write each layer tar into `directory` and merge them: a MergeResult (`.rootfs`, `.layers`)."""
    from slimmer.image.blob import Blob
    from slimmer.rootfs.merge import merge_layers

    blobs = []
    for i, data in enumerate(layers):
        path = Path(directory) / f"layer{i}.tar"
        path.write_bytes(data)
        blobs.append(Blob(path, 0, len(data)))
    return merge_layers(blobs)
