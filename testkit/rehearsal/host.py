"""The rehearsal's private host: loopback, one address per compose service in a private /etc/hosts,
the image's volume folders, and who dialled whom."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testkit.rehearsal.compose import RehearsalError, addresses

# Folders of the image the compose file mounts volumes on; made (and removed after) when missing here.
VOLUME_MOUNTS = {"tradegraph-data": Path("/data"), "dagster-home": Path("/opt/dagster/home/storage")}
# Files docker/Dockerfile puts in the image, outside the code: image path -> the repository's file.
DAGSTER_HOME = Path("/opt/dagster/home")
IMAGE_FILES = {DAGSTER_HOME / "dagster.yaml": Path(__file__).resolve().parents[2] / "docker" / "dagster.yaml"}


def _make_dir(target: Path, made: list[Path]) -> None:
    """``target`` and its missing parents, each recorded in ``made`` (to remove, deepest first)."""
    missing = [target, *target.parents]
    missing = [path for path in missing if not path.exists()]
    for path in reversed(missing):
        path.mkdir()
        made.append(path)


def _in_private_namespaces() -> bool:
    """Whether this process has a network namespace of its own (only loopback) and a mount namespace
    other than its ancestors' (so the bind mounts stay here)."""
    interfaces = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    if [line.split(":")[0].strip() for line in interfaces] != ["lo"]:
        return False
    mine, pid = os.readlink("/proc/self/ns/mnt"), os.getppid()
    while pid > 1:
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") != mine:
                return True
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return False


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


def outgoing_peers(pid: int) -> dict[str, str]:
    """``ip:port`` of each established TCP connection the process group dialled -> the process that holds
    it (``name[pid]: command line``), so a wrong dial names its culprit.

    Connections to a socket the group itself listens on (one process of a service talking to another of
    the same service) are its own business, not a dial of another service, and are left out.
    """
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established"], check=False, capture_output=True, text=True, timeout=10
    ).stdout
    listening = subprocess.run(
        ["ss", "-tlnpH"], check=False, capture_output=True, text=True, timeout=10
    ).stdout
    group = {str(p) for p in _group_pids(pid)}

    def owner(line: str) -> str | None:
        return next((p for p in group if f"pid={p}," in line), None)

    own_endpoints = {line.split()[3] for line in listening.splitlines() if owner(line) is not None}
    own_ports = {endpoint.rsplit(":", 1)[1] for endpoint in own_endpoints}
    peers: dict[str, str] = {}
    for line in out.splitlines():
        fields = line.split()
        holder = owner(line)
        if holder is None or fields[2].rsplit(":", 1)[1] in own_ports:
            continue  # another group's, or an accepted connection to one of the group's servers
        port = fields[3].rsplit(":", 1)[1]
        if {fields[3], f"0.0.0.0:{port}", f"*:{port}"} & own_endpoints:
            continue
        peers[fields[3]] = _describe(int(holder))
    return dict(sorted(peers.items()))


def _describe(pid: int) -> str:
    """``name[pid]: command line`` of a process (what a failing assertion shows)."""
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return f"[{pid}] (gone)"
    return f"{name}[{pid}]: {argv.strip()[:300]}"


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@contextmanager
def private_host(services: dict[str, Any], workdir: Path) -> Iterator[dict[str, str]]:
    """Loopback up, every service name on its own address in a private /etc/hosts, volumes mounted."""
    if os.geteuid() != 0 or not _in_private_namespaces():
        raise RehearsalError("run me as root inside `unshare --net --mount --fork`: I bind mount /etc/hosts")
    _run("ip", "link", "set", "lo", "up")
    addr = addresses(services)
    hosts = workdir / "hosts"
    lines = [f"{ip} {name}" + (" localhost" if ip == "127.0.0.1" else "") for name, ip in addr.items()]
    hosts.write_text("\n".join(lines) + "\n::1 localhost ip6-localhost\n")
    _run("mount", "--bind", str(hosts), "/etc/hosts")
    made: list[Path] = []
    mounted: list[Path] = []
    try:
        # The image's Dagster home (its dagster.yaml), then the volumes (one of them inside it).
        image_home = workdir / "image" / "dagster-home"
        image_home.mkdir(parents=True, exist_ok=True)
        for target, source_file in IMAGE_FILES.items():
            (image_home / target.relative_to(DAGSTER_HOME)).write_bytes(source_file.read_bytes())
        (image_home / "storage").mkdir(exist_ok=True)
        _make_dir(DAGSTER_HOME, made)
        _run("mount", "--bind", str(image_home), str(DAGSTER_HOME))
        mounted.append(DAGSTER_HOME)
        for volume, target in VOLUME_MOUNTS.items():
            source = workdir / "volumes" / volume
            source.mkdir(parents=True, exist_ok=True)
            _make_dir(target, made)
            _run("mount", "--bind", str(source), str(target))
            mounted.append(target)
        yield addr
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", str(target)], check=False, capture_output=True, timeout=30)
        for target in reversed(made):
            target.rmdir()
