"""Three RabbitMQ nodes of the test's own, clustered on this machine, for tests that take one down.

Each node has its own name (`crmt<N>@localhost`), AMQP and distribution ports, data and log folders
under the test's tmp dir. The cluster has its own Erlang cookie (its own HOME), its own epmd on a
private port and its own env/config files, so the machine's RabbitMQ node (`rabbit@…` on 5672) is
neither seen nor touched. Every process started here runs in a process group of its own and gets
SIGKILL if the test process dies (PR_SET_PDEATHSIG), so even a killed test leaves no beam behind.
"""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kombu import Connection

from shared.bus.relay import wait_until

# where the real scripts are: Debian's /usr/sbin ones are wrappers that `su rabbitmq` (losing HOME)
SCRIPT_DIRS = [os.environ.get("TEST_RABBITMQ_SCRIPTS", ""), "/usr/lib/rabbitmq/bin", "/usr/local/sbin"]
PORT_RANGE = (20000, 32000)  # below the kernel's ephemeral ports, so no outgoing connection takes one
PORTS_PER_NODE = 2  # AMQP, distribution
CTL_PORTS = 11  # the CLI tools' own distribution ports


def scripts_dir() -> Path | None:
    """The folder holding rabbitmq-server, rabbitmqctl and rabbitmq-queues, or None."""
    for folder in filter(None, SCRIPT_DIRS):
        if all((Path(folder) / s).exists() for s in ("rabbitmq-server", "rabbitmqctl", "rabbitmq-queues")):
            return Path(folder)
    return None


_prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here: the child only makes the call


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the thread that started it dies (PR_SET_PDEATHSIG; the
    setting survives exec, not fork). Nodes are started from the test's main thread."""
    _prctl(1, signal.SIGKILL)


def _free_block(count: int) -> int:
    """A first port of `count` consecutive ports that are free on 127.0.0.1 now."""
    import random

    for _ in range(200):
        base = random.randrange(PORT_RANGE[0], PORT_RANGE[1] - count)
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free ports found")


@dataclass
class Node:
    name: str
    amqp_port: int
    dist_port: int
    folder: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}//"

    def accepts_amqp(self) -> bool:
        try:
            with Connection(self.url, connect_timeout=3) as conn:
                conn.ensure_connection(max_retries=0)
            return True
        except Exception:  # noqa: BLE001 (not up yet)
            return False


class LocalCluster:
    """`size` nodes under `root`; `start()` boots them and joins nodes 2.. onto node 1."""

    def __init__(self, root: Path, scripts: Path, size: int = 3, prefix: str = "crmt"):
        self.root, self.scripts = root, scripts
        base = _free_block(1 + size * PORTS_PER_NODE + CTL_PORTS)
        self.epmd_port, self.ctl_port = base, base + 1 + size * PORTS_PER_NODE
        self.nodes = [Node(f"{prefix}{i + 1}@localhost", base + 1 + 2 * i, base + 2 + 2 * i, root / f"node{i + 1}")
                      for i in range(size)]
        self.epmd: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}
        (root / "home").mkdir(parents=True, exist_ok=True)
        cookie = root / "home" / ".erlang.cookie"
        cookie.write_text(os.urandom(16).hex().upper())
        cookie.chmod(0o400)
        (root / "rabbitmq-env.conf").write_text("# this cluster's own: the machine's /etc/rabbitmq is not read\n")
        (root / "enabled_plugins").write_text("[].\n")
        (root / "rabbitmq.conf").write_text("log.console = false\nlog.file.level = info\n")

    # --- environment -------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
            "HOME": str(self.root / "home"),  # the cookie
            "ERL_EPMD_ADDRESS": "127.0.0.1", "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_CTL_DIST_PORT_MIN": str(self.ctl_port),
            "RABBITMQ_CTL_DIST_PORT_MAX": str(self.ctl_port + CTL_PORTS - 1),
        }

    def _node_env(self, node: Node) -> dict[str, str]:
        return {
            **self._env(),
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(node.amqp_port),
            "RABBITMQ_DIST_PORT": str(node.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_MNESIA_BASE": str(node.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(node.folder / "log"),
            "RABBITMQ_PID_FILE": str(node.folder / "beam.pid"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "advanced.config"),  # absent on purpose
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            # the script then execs the VM instead of keeping a shell as its parent: the pid we hold
            # is the beam's, and PR_SET_PDEATHSIG reaches it
            "RUNNING_UNDER_SYSTEMD": "true",
        }

    # --- processes ---------------------------------------------------------------------------
    def _spawn(self, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        """A long-lived process (node, epmd) in a process group of its own, tied to the test's life."""
        with open(log, "ab") as out:
            return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, preexec_fn=_die_with_parent)

    def start_node(self, node: Node) -> None:
        """Start (or restart) one node in the background; it keeps its data folder."""
        (node.folder / "log").mkdir(parents=True, exist_ok=True)
        node.proc = self._spawn([str(self.scripts / "rabbitmq-server")], self._node_env(node),
                                node.folder / "log" / "console.log")

    def ctl(self, tool: str, node: Node, *args: str, timeout: float = 240) -> str:
        """Run a CLI tool (rabbitmqctl, rabbitmq-queues…) against `node`; its output, or an error."""
        proc = subprocess.Popen([str(self.scripts / tool), "-n", node.name, *args], env=self._env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # short-lived; killed with its group on timeout
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} -n {node.name} {' '.join(args)} failed ({proc.returncode}): {err or out}")
        return out

    def start(self, boot_timeout: float) -> None:
        """Boot every node, join nodes 2.. onto node 1, wait until the cluster runs them all."""
        t0 = time.monotonic()
        self.epmd = self._spawn([shutil.which("epmd") or "epmd", "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                                self._env(), self.root / "epmd.log")
        for node in self.nodes:
            self.start_node(node)
        for node in self.nodes:
            self.wait_for_amqp(node, boot_timeout)
        self.timings["boot"] = time.monotonic() - t0
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self.ctl("rabbitmqctl", node, "stop_app")
            self.ctl("rabbitmqctl", node, "join_cluster", first.name)
            self.ctl("rabbitmqctl", node, "start_app")
        wait_until(lambda: len(self.running_nodes(first)) == len(self.nodes), boot_timeout, 1.0)
        self.timings["cluster"] = time.monotonic() - t0

    def wait_for_amqp(self, node: Node, timeout: float) -> None:
        def up() -> bool:
            if node.proc is not None and node.proc.poll() is not None:
                raise RuntimeError(f"{node.name} exited ({node.proc.returncode}); see {node.folder / 'log'}")
            return node.accepts_amqp()

        wait_until(up, timeout, 0.5)

    def running_nodes(self, via: Node) -> list[str]:
        status = json.loads(self.ctl("rabbitmqctl", via, "cluster_status", "--formatter", "json"))
        return status["running_nodes"]

    def quorum_members(self, via: Node, queue: str) -> dict[str, str]:
        """node name -> raft state (leader, follower…) of a quorum queue's members, asked of `via`."""
        rows = json.loads(self.ctl("rabbitmq-queues", via, "quorum_status", queue, "--formatter", "json"))
        return {row["Node Name"]: row["Raft State"] for row in rows}

    def node_named(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def kill(self, node: Node) -> None:
        """kill -9 of the node's beam and its helpers: a crash, no goodbye to the cluster or the clients."""
        _kill_group(node.proc)
        node.proc.wait(30)

    def close(self) -> None:
        """Kill every process started here (nodes, epmd) and remove the nodes' data; logs stay."""
        for proc in [n.proc for n in self.nodes] + [self.epmd]:
            if proc is not None:
                _kill_group(proc)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    pass
        for node in self.nodes:
            shutil.rmtree(node.folder / "mnesia", ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of every node's log (for a failure message)."""
        out = []
        for node in self.nodes:
            for log in sorted((node.folder / "log").glob("*.log")):
                text = log.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {log}\n" + "\n".join(text))
        return "\n".join(out)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
