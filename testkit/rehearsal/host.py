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
VOLUME_MOUNTS = {"tradegraph-data": Path("/data")}


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


def outgoing_peers(pid: int) -> list[str]:
    """``ip:port`` of the established TCP connections of a process group the process dialled."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established"], check=False, capture_output=True, text=True, timeout=10
    ).stdout
    listening = subprocess.run(
        ["ss", "-tlnpH"], check=False, capture_output=True, text=True, timeout=10
    ).stdout
    group = {str(p) for p in _group_pids(pid)}

    def mine(line: str) -> bool:
        return any(f"pid={p}," in line for p in group)

    own_ports = {line.split()[3].rsplit(":", 1)[1] for line in listening.splitlines() if mine(line)}
    peers = set()
    for line in out.splitlines():
        fields = line.split()
        if mine(line) and fields[2].rsplit(":", 1)[1] not in own_ports:
            peers.add(fields[3])
    return sorted(peers)


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
    try:
        for volume, target in VOLUME_MOUNTS.items():
            source = workdir / "volumes" / volume
            source.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.mkdir(parents=True)
                made.append(target)
            _run("mount", "--bind", str(source), str(target))
        yield addr
    finally:
        for target in VOLUME_MOUNTS.values():
            subprocess.run(["umount", str(target)], check=False, capture_output=True, timeout=30)
        for target in made:
            target.rmdir()
