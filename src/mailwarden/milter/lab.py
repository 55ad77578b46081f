"""A private, throw-away Postfix instance on 127.0.0.1 wired to a milter: for trying the milter
by hand, for its integration test and for its benchmark.

    with PostfixLab("unix:/tmp/mw.sock") as lab:   # or "inet:127.0.0.1:8890"
        subprocess.run(["swaks", "--server", f"127.0.0.1:{lab.port}", "--to", "a@example.com"])
        lab.delivered()                             # the Maildir files of example.com

Everything lives in one temporary folder: its own config directory (``postfix -c DIR``), queue,
data directory and Maildir; the system's /etc/postfix instance is never read or touched. Mail
for `domains` is delivered by Postfix's `virtual` agent into ``DIR/mail/inbox/`` (a Maildir);
nothing is relayed anywhere else (no DNS, no outbound SMTP). Postfix's master runs as root and
drops to the `postfix` user, so this needs root and the Debian `postfix` package
(`unavailable()` says why it cannot run). Stop it with `stop()`: it runs ``postfix stop`` and
then kills the master's process group if anything is left.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

POSTFIX = "/usr/sbin/postfix"
DAEMON_DIR = "/usr/lib/postfix/sbin"
QUEUE_DIRS = "active bounce corrupt defer deferred flush hold incoming private saved trace"

_MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 1 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unavailable() -> str | None:
    """Why a private Postfix cannot run here, or None when it can."""
    if not Path(POSTFIX).exists() or not Path(DAEMON_DIR, "master").exists():
        return "Postfix is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (its master drops to the postfix user)"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        return "the postfix user or the postdrop group is missing"
    return None


class PostfixLab:
    """One private Postfix instance; see the module doc."""

    def __init__(
        self,
        milter: str | None,
        *,
        default_action: str = "accept",
        domains: tuple[str, ...] = ("example.com",),
        milter_timeout_s: float = 5.0,
        message_size_limit: int = 30 * 1024 * 1024,
        extra_main_cf: str = "",
    ) -> None:
        self.milter = milter
        self.default_action = default_action
        self.domains = domains
        self.milter_timeout_s = milter_timeout_s
        self.message_size_limit = message_size_limit
        self.extra_main_cf = extra_main_cf
        self.port = 0
        self.root = Path()
        self._process: subprocess.Popen[bytes] | None = None

    # --- layout ---------------------------------------------------------------------------

    @property
    def config_dir(self) -> Path:
        return self.root / "etc"

    @property
    def queue_dir(self) -> Path:
        return self.root / "queue"

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / "inbox"

    @property
    def log_path(self) -> Path:
        return self.root / "postfix.log"

    def _layout(self) -> None:
        owner = pwd.getpwnam("postfix")
        postdrop = grp.getgrnam("postdrop").gr_gid
        self.root = Path(tempfile.mkdtemp(prefix="mailwarden-postfix-"))
        self.root.chmod(0o755)  # the postfix user walks into it
        for folder in ("etc", "queue", "data", "mail"):
            (self.root / folder).mkdir()
        for folder, gid, mode in (("data", owner.pw_gid, 0o700), ("mail", owner.pw_gid, 0o755)):
            os.chown(self.root / folder, owner.pw_uid, gid)
            (self.root / folder).chmod(mode)
        for name in QUEUE_DIRS.split():
            path = self.queue_dir / name
            path.mkdir(mode=0o700)
            os.chown(path, owner.pw_uid, owner.pw_gid)
        for name, mode in (("maildrop", 0o730), ("public", 0o710)):
            path = self.queue_dir / name
            path.mkdir()
            os.chown(path, owner.pw_uid, postdrop)
            path.chmod(mode)
        (self.queue_dir / "pid").mkdir(mode=0o755)
        self.port = free_port()
        timeout = f"{max(1, round(self.milter_timeout_s))}s"
        main_cf = f"""\
compatibility_level = 3.6
queue_directory = {self.queue_dir}
data_directory = {self.root / "data"}
command_directory = /usr/sbin
daemon_directory = {DAEMON_DIR}
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.mailwarden.test
mydomain = mailwarden.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
local_transport = error:no local delivery here
alias_maps =
alias_database =
virtual_mailbox_domains = {" ".join(self.domains)}
virtual_mailbox_base = {self.root / "mail"}
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:{owner.pw_uid}
virtual_gid_maps = static:{owner.pw_gid}
virtual_minimum_uid = 1
virtual_mailbox_limit = 0
message_size_limit = {self.message_size_limit}
biff = no
maillog_file = {self.log_path}
maillog_file_prefixes = {self.root}
smtpd_milters = {self.milter or ""}
milter_default_action = {self.default_action}
milter_protocol = 6
milter_connect_timeout = {timeout}
milter_command_timeout = {timeout}
milter_content_timeout = {timeout}
{self.extra_main_cf}
"""
        (self.config_dir / "main.cf").write_text(main_cf)
        listen = f"127.0.0.1:{self.port}"
        (self.config_dir / "master.cf").write_text(_MASTER_CF.format(listen=listen))

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, timeout_s: float = 15.0) -> None:
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        self._layout()
        # start-fg runs the checks `postfix start` runs, then the master (which starts its own
        # session; stop() finds it by its pid file).
        self._process = subprocess.Popen(
            [POSTFIX, "-c", str(self.config_dir), "start-fg"],
            stdin=subprocess.DEVNULL,
            stdout=(self.root / "start.out").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock,
            ):
                sock.settimeout(2)
                banner = sock.recv(512)
                if banner.startswith(b"220"):
                    sock.sendall(b"QUIT\r\n")
                    return
            if self._process.poll() is not None:
                break
            time.sleep(0.1)
        output = self.output()
        self.stop()
        raise RuntimeError(f"Postfix did not start on 127.0.0.1:{self.port}:\n{output}")

    def stop(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [POSTFIX, "-c", str(self.config_dir), "stop"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=20,
                check=False,
            )
        master = self._master_pid()
        if master is not None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _alive(master):
                time.sleep(0.05)
            if _alive(master):
                with contextlib.suppress(OSError):
                    os.killpg(master, signal.SIGKILL)
        for process_group in (self._process.pid,):
            with contextlib.suppress(OSError):
                os.killpg(process_group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        self._process = None

    def cleanup(self) -> None:
        self.stop()
        if self.root != Path() and self.root.is_dir():
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostfixLab:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def _master_pid(self) -> int | None:
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    # --- what happened --------------------------------------------------------------------

    def output(self) -> str:
        parts = []
        for path in (self.root / "start.out", self.log_path):
            with contextlib.suppress(OSError):
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def delivered(self) -> list[Path]:
        """Delivered messages (Maildir new/), oldest first."""
        folder = self.maildir / "new"
        if not folder.is_dir():
            return []
        return sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)

    def held(self) -> list[Path]:
        """Queue files in the hold queue: what a milter quarantined."""
        return sorted(p for p in (self.queue_dir / "hold").rglob("*") if p.is_file())

    def wait_for(self, count: int, what: str = "delivered", timeout_s: float = 10.0) -> list[Path]:
        """Wait until at least `count` messages are delivered (or held); return them."""
        look = self.delivered if what == "delivered" else self.held
        deadline = time.monotonic() + timeout_s
        found = look()
        while len(found) < count and time.monotonic() < deadline:
            time.sleep(0.05)
            found = look()
        return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
