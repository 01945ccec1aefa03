"""The real Dovecot (Debian's `dovecot-imapd`) for the mail tests: a private server in a temp
folder, on a loopback port, speaking IMAP over TLS only, with one passwd-file user.

Nothing of the machine's own mail set-up is read or changed: the config is ours (`-c`), so
`/etc/dovecot` is never included; base_dir, state_dir, the log and the maildirs all live in
the temp folder; the certificate is made here by `openssl` and its file is what the desk is
told to trust (`mail_ca_file`). Run as root, Dovecot drops to its own `dovecot`/`dovenull`
users and the mail belongs to `nobody` (a group *name* in the userdb fails: numeric ids);
run as anyone else, every process stays that user.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.polling import wait_until

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "desk", "s3cret-Mailbox"
NOBODY = 65534


def free_port() -> int:
    """A loopback port nobody listens on now (the OS picks it; Dovecot binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _need(binary: Path | str, package: str) -> str:
    found = shutil.which(str(binary))
    if found is None:
        pytest.fail(f"{binary} is missing: the mail tests need the real server; install it "
                    f"with `apt-get install {package}` (scripts/run-tests.sh does)", pytrace=False)
    return found


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [_need("openssl", "openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60)
    return cert, key


@dataclass
class Dovecot:
    root: Path
    port: int  # imaps: TLS from the first byte
    starttls_port: int  # imap: STARTTLS before anything else (ssl = required)
    ca_file: Path
    user: str = USER
    password: str = PASSWORD
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"imaps://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- what a test does to the mailbox, over IMAP like any mail client ------------------

    def connect(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.connect()
        try:
            client.create(f'"{folder}"')  # an error when it exists: fine
            typ, data = client.append(f'"{folder}"', "", None, raw)
            assert typ == "OK", data
        finally:
            client.logout()

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """The raw messages in `folder` (none when it does not exist), without marking them."""
        client = self.connect()
        try:
            typ, _ = client.select(f'"{folder}"', readonly=True)
            if typ != "OK":
                return []
            typ, data = client.uid("SEARCH", "ALL")
            out = []
            for uid in data[0].split():
                typ, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                out += [p[1] for p in parts if isinstance(p, tuple)]
            return out
        finally:
            client.logout()

    # -- the server's life ----------------------------------------------------------------

    def start(self) -> None:
        self.proc = subprocess.Popen([str(DOVECOT), "-F", "-c", str(self.root / "dovecot.conf")],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        def listening() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else ""
                raise AssertionError(f"dovecot exited ({self.proc.returncode}): {out}\n{self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return False
            return True

        wait_until(listening, what=f"dovecot to listen on {self.port}", within=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _config(root: Path, ports: tuple[int, int], cert: Path, key: Path, mail_uid: int,
            capability: str) -> str:
    port, starttls_port = ports
    people = ""
    if os.geteuid() != 0:  # no root: every Dovecot process stays this user
        me = pwd.getpwuid(os.geteuid()).pw_name
        people = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
    return f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{people}first_valid_uid = 1
{f"imap_capability = {capability}" if capability else ""}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
# A wrong password is answered at once: no delay, and no growing penalty (Dovecot's
# documented switch: the penalty socket unusable).
auth_failure_delay = 0
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
namespace inbox {{
  inbox = yes
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_uid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"""


def start_dovecot(capability: str = "") -> Dovecot:
    """A running server; `capability` replaces what it offers after login (to play a server
    without MOVE)."""
    _need(DOVECOT, "dovecot-imapd")
    # Not pytest's tmp_path: its parents are 0700 root, and the mail processes run as nobody.
    root = Path(tempfile.mkdtemp(prefix="dd-dovecot-"))
    root.chmod(0o755)
    mail_uid = NOBODY if os.geteuid() == 0 else os.geteuid()
    for sub in ("mail", "home", "run", "state"):
        (root / sub).mkdir()
    for sub in ("mail", "home"):
        (root / sub / USER).mkdir()
        if os.geteuid() == 0:
            os.chown(root / sub / USER, mail_uid, mail_uid)
    cert, key = _certificate(root)
    key.chmod(0o600)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    (root / "passwd").chmod(0o644)
    ports = free_port(), free_port()
    while ports[1] == ports[0]:
        ports = ports[0], free_port()
    (root / "dovecot.conf").write_text(_config(root, ports, cert, key, mail_uid, capability))
    server = Dovecot(root=root, port=ports[0], starttls_port=ports[1], ca_file=cert)
    try:
        server.start()
    except BaseException:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


def run_dovecot(capability: str = "") -> Iterator[Dovecot]:
    """For a fixture: a running server, stopped and removed after the test."""
    server = start_dovecot(capability)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)



#: What a server without MOVE offers after login: processed mail is flagged, not moved.
WITHOUT_MOVE = ("IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UIDPLUS NAMESPACE "
                "CHILDREN")
