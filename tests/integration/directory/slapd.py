"""A real OpenLDAP server (Debian's ``slapd``) on 127.0.0.1 for the directory tests.

:func:`start_slapd` writes a ``slapd.conf`` in a temporary folder (the mdb
database, a CA and a server certificate made here with ``cryptography``), starts
``slapd -h "ldap://127.0.0.1:P/ ldaps://127.0.0.1:Q/"`` on two free ports in the
foreground, waits until it answers a search, and seeds it with ``ldapadd``:

- people: alice (group ops), bob (devs, which is a member of engineering: a nested
  group), carol (orch-admins), erin (auditors, a groupOfUniqueNames; and loop-a,
  whose nesting with loop-b is a cycle), dave (ops, but disabled: AD's
  ``userAccountControl`` 514, from a two-line test schema — OpenLDAP has no such
  attribute), and a directory user named ``admin`` (the bootstrap admin's name);
- a service account ``cn=orch,ou=services`` that searches.

:meth:`Slapd.stop` / :meth:`Slapd.start` take it down and bring it back on the
same ports with the same data (the "directory down" tests).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from orch.config import Settings

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=root,{SUFFIX}"
ROOT_PW = "root-secret"
SERVICE_DN = f"cn=orch,ou=services,{SUFFIX}"
SERVICE_PW = "service-secret"
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw",
             "erin": "erin-pw", "admin": "directory-admin-pw"}

SCHEMA = """\
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
    EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.1.1 NAME 'orchTestAccount' AUXILIARY
    MAY ( userAccountControl ) )
"""


def _person(uid: str, extra: str = "") -> str:
    return f"""dn: uid={uid},ou=people,{SUFFIX}
objectClass: inetOrgPerson{extra and chr(10) + extra}
uid: {uid}
cn: {uid.title()}
sn: {uid.title()}
userPassword: {PASSWORDS[uid]}
"""


def _group(cn: str, *members: str, unique: bool = False) -> str:
    cls, attr = ("groupOfUniqueNames", "uniqueMember") if unique else ("groupOfNames", "member")
    lines = "".join(f"{attr}: {m}\n" for m in members)
    return f"dn: cn={cn},ou=groups,{SUFFIX}\nobjectClass: {cls}\ncn: {cn}\n{lines}"


def people_dn(uid: str) -> str:
    return f"uid={uid},ou=people,{SUFFIX}"


def group_dn(cn: str) -> str:
    return f"cn={cn},ou=groups,{SUFFIX}"


SEED = "\n".join([
    f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
    f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n",
    f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n",
    f"dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services\n",
    f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
    f"cn: orch\nuserPassword: {SERVICE_PW}\n",
    _person("alice"), _person("bob"), _person("carol"), _person("erin"), _person("admin"),
    _person("dave", "objectClass: orchTestAccount\nuserAccountControl: 514"),
    _group("ops", people_dn("alice"), people_dn("dave")),
    _group("devs", people_dn("bob")),
    _group("engineering", group_dn("devs")),
    _group("orch-admins", people_dn("carol"), f"cn=nobody,{SUFFIX}"),
    _group("auditors", people_dn("erin"), unique=True),
    _group("loop-a", people_dn("erin"), group_dn("loop-b")),
    _group("loop-b", group_dn("loop-a")),
    _group("empty", f"cn=nobody,{SUFFIX}"),
])


def require_slapd() -> None:
    """Skip without Debian's slapd and ldap-utils (fail under CI, where .ci/run installs them)."""
    import os

    import pytest

    missing = [tool for tool in (SLAPD, "ldapadd", "ldapsearch") if shutil.which(tool) is None]
    if missing:
        message = f"not installed: {', '.join(missing)} (apt-get install slapd ldap-utils)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports: the sockets stay open until all are bound (two
    calls of one port each can be given the same port, and slapd then exits)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1 / localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "orch test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


@dataclass
class Slapd:
    folder: Path
    port: int
    tls_port: int
    ca_file: Path
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.folder / "slapd.log"

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://localhost:{self.tls_port}"

    def settings(self, **changes: object) -> Settings:
        """Settings for this directory (ldap:// URL, admin group orch-admins)."""
        values: dict[str, object] = dict(
            ldap_url=(self.url,), ldap_bind_dn=SERVICE_DN, ldap_bind_password=SERVICE_PW,
            ldap_user_base=f"ou=people,{SUFFIX}", ldap_group_base=f"ou=groups,{SUFFIX}",
            ldap_admin_groups=("orch-admins",), ldap_timeout_seconds=2.0,
        )
        values.update(changes)
        return Settings(**values)  # type: ignore[arg-type]

    def start(self) -> None:
        assert self.process is None
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [SLAPD, "-d", "0", "-f", str(self.folder / "slapd.conf"),
             "-h", f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.tls_port}/"],
            stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {self.log.read_text()[-2000:]}")
            ok = subprocess.run(
                ["ldapsearch", "-x", "-H", self.url, "-b", "", "-s", "base", "-o", "nettimeout=1"],
                capture_output=True).returncode == 0
            if ok:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("slapd did not answer within 20 s")
            time.sleep(0.05)  # polling a starting server, with a deadline

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def ldap(self, tool: str, ldif: str) -> None:
        """Run ldapadd / ldapmodify / ldapdelete as the root DN."""
        subprocess.run([tool, "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PW],
                       input=ldif.encode(), check=True, capture_output=True)

    def delete(self, dn: str) -> None:
        subprocess.run(["ldapdelete", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PW, dn],
                       check=True, capture_output=True)

    def remove_member(self, group: str, uid: str) -> None:
        self.ldap("ldapmodify", f"dn: {group_dn(group)}\nchangetype: modify\n"
                                f"delete: member\nmember: {people_dn(uid)}\n")

    def add_member(self, group: str, uid: str) -> None:
        self.ldap("ldapmodify", f"dn: {group_dn(group)}\nchangetype: modify\n"
                                f"add: member\nmember: {people_dn(uid)}\n")


def start_slapd() -> Slapd:
    require_slapd()
    folder = Path(tempfile.mkdtemp(prefix="orch-slapd-"))
    (folder / "db").mkdir()
    ca, cert, key = _certificates(folder)
    (folder / "orchtest.schema").write_text(SCHEMA)
    schema = Path("/etc/ldap/schema")
    (folder / "slapd.conf").write_text(f"""\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {folder}/orchtest.schema
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PW}
directory {folder}/db
access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to * by * read
""")
    port, tls_port = free_ports(2)
    server = Slapd(folder=folder, port=port, tls_port=tls_port, ca_file=ca)
    server.start()
    server.ldap("ldapadd", SEED)
    return server


def remove(server: Slapd) -> None:
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)
