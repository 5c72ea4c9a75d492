"""LocalStack as a new machine starts it: no certificate anywhere beforehand, nothing outside its root.

The deploy tier's emulator (the session fixture) starts on a root made empty for this run. Its gateway
must serve the certificate the project made for that root (LocalStack's own certificate code needs
pyOpenSSL's X509Extension, gone since pyOpenSSL 25), and every directory it writes must live under the
root, so that nothing left by an earlier run (a cached certificate, say) can make a later one pass.
"""

from __future__ import annotations

import socket
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tools.services.localstack import LocalStack, gateway_certificate_path


def served_certificate(port: int) -> x509.Certificate:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only reading what it serves
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_the_gateway_serves_the_certificate_made_for_this_root(localstack: LocalStack) -> None:
    # Given the emulator of this session, started on a root that held no certificate
    made = x509.load_pem_x509_certificate(gateway_certificate_path(localstack.root).read_bytes())

    # When a TLS client connects to its gateway port
    served = served_certificate(localstack.port)

    # Then it is the certificate made for this root, valid for the loopback address it listens on
    assert served.fingerprint(hashes.SHA256()) == made.fingerprint(hashes.SHA256())
    names = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_its_directories_live_under_the_root_of_this_run(localstack: LocalStack) -> None:
    # Given the emulator of this session (host mode, FILESYSTEM_ROOT = its root)
    root = localstack.root

    # Then its cache, state and the plugin cache were made there, and the certificate LocalStack
    # split from the PEM file (key and certificate) lies beside it, not in a shared cache
    assert (root / "var" / "lib" / "localstack" / "cache").is_dir()
    assert (root / "xdg-cache").is_dir()
    split = sorted(path.name for path in root.glob("gateway.pem*"))
    assert split == ["gateway.pem", "gateway.pem.crt", "gateway.pem.key"]
