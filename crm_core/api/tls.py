"""TLS for the REST API: a local signing CA and a server certificate for localhost.

`simple-salesforce` always builds ``https://`` URLs, so the API is served over TLS. Without a
certificate of their own, users get one made on first start: a CA (kept, so clients trust it
once) and a server certificate signed by it for ``localhost``, ``127.0.0.1``, ``::1``, the
machine's host name and the host the server binds to. The server certificate is remade when it
is about to expire or does not cover the requested host; the CA is kept.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 397
RENEW_BEFORE = dt.timedelta(days=30)
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the files uvicorn and clients need."""

    cert: Path
    key: Path
    ca: Path | None  # None when the user brought their own certificate


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _subject_names(host: str) -> list[x509.GeneralName]:
    names: list[str] = ["localhost", "127.0.0.1", "::1", socket.gethostname()]
    if host not in _WILDCARD_HOSTS:
        names.append(host)
    seen: set[str] = set()
    result: list[x509.GeneralName] = []
    for name in names:
        if not name or name.lower() in seen:
            continue
        seen.add(name.lower())
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            result.append(x509.DNSName(name))
    return result


def _make_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CRMArena Studio"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"CRMArena Studio local CA ({socket.gethostname()})"),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_server_cert(
    host: str, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(_subject_names(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _covers(cert: x509.Certificate, host: str) -> bool:
    """True when `cert` is valid for a while yet and names every host we need."""
    if cert.not_valid_after_utc - RENEW_BEFORE < _now():
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    present = {str(v).lower() for v in san.get_values_for_type(x509.DNSName)}
    present |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    needed = set()
    for name in _subject_names(host):
        needed.add(str(name.value).lower() if isinstance(name, x509.DNSName) else str(name.value))
    return needed <= present


def ensure_local_certificate(folder: Path, host: str = "127.0.0.1") -> TlsFiles:
    """Return the local CA and server certificate in `folder`, making what is missing or stale.

    The CA (``ca.pem``, ``ca-key.pem``) is made once; the server certificate (``server.pem``,
    ``server-key.pem``) is remade when it expires within 30 days or does not name `host`.
    Private keys are written with mode 0600.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ca_path, ca_key_path = folder / "ca.pem", folder / "ca-key.pem"
    cert_path, key_path = folder / "server.pem", folder / "server-key.pem"
    ca_cert, ca_key = _load_cert(ca_path), _load_key(ca_key_path)
    if ca_cert is None or ca_key is None or ca_cert.not_valid_after_utc < _now() + RENEW_BEFORE:
        ca_cert, ca_key = _make_ca()
        _write_key(ca_key_path, ca_key)
        _write_cert(ca_path, ca_cert)
        stale_server = True
    else:
        server = _load_cert(cert_path)
        stale_server = (
            server is None
            or _load_key(key_path) is None
            or server.issuer != ca_cert.subject
            or not _covers(server, host)
        )
    if stale_server:
        cert, key = _make_server_cert(host, ca_cert, ca_key)
        _write_key(key_path, key)
        _write_cert(cert_path, cert)
    return TlsFiles(cert=cert_path, key=key_path, ca=ca_path)
