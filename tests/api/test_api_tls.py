"""The generated local CA and server certificate."""

from __future__ import annotations

import ipaddress
import ssl
import stat

from cryptography import x509

from crm_core.api.tls import ensure_local_certificate


def _san(path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.DNSName)} | {
        str(v) for v in san.get_values_for_type(x509.IPAddress)
    }


def test_certificate_is_signed_by_the_ca_and_names_localhost(tmp_path):
    files = ensure_local_certificate(tmp_path / "tls")
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    server = x509.load_pem_x509_certificate(files.cert.read_bytes())
    server.verify_directly_issued_by(ca)  # raises when the signature does not check out
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert {"localhost", "127.0.0.1", "::1"} <= _san(files.cert)


def test_private_keys_are_private(tmp_path):
    files = ensure_local_certificate(tmp_path)
    for key in (files.key, tmp_path / "ca-key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_python_ssl_trusts_the_chain(tmp_path):
    files = ensure_local_certificate(tmp_path)
    client = ssl.create_default_context(cafile=str(files.ca))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files.cert), str(files.key))
    # An in-memory handshake: the client checks the chain and the host name "localhost".
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client_obj = client.wrap_bio(c_in, c_out, server_hostname="localhost")
    server_obj = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, obj, out, peer_in in (("client", client_obj, c_out, s_in), ("server", server_obj, s_out, c_in)):
            if not done[name]:
                try:
                    obj.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
            peer_in.write(out.read())
        if all(done.values()):
            break
    assert done == {"client": True, "server": True}


def test_second_start_reuses_files_and_a_new_host_keeps_the_ca(tmp_path):
    first = ensure_local_certificate(tmp_path)
    ca_bytes, cert_bytes = first.ca.read_bytes(), first.cert.read_bytes()
    again = ensure_local_certificate(tmp_path)
    assert again.cert.read_bytes() == cert_bytes and again.ca.read_bytes() == ca_bytes
    other = ensure_local_certificate(tmp_path, host="10.1.2.3")
    assert other.ca.read_bytes() == ca_bytes
    assert other.cert.read_bytes() != cert_bytes
    assert str(ipaddress.ip_address("10.1.2.3")) in _san(other.cert)


def test_broken_files_are_replaced(tmp_path):
    ensure_local_certificate(tmp_path)
    (tmp_path / "server.pem").write_text("not a certificate")
    files = ensure_local_certificate(tmp_path)
    x509.load_pem_x509_certificate(files.cert.read_bytes())
