"""Throw-away certificates for a TLS Kafka in the tests: a CA, the broker's, a client's.

Made with openssl (PEM for the Python clients, PKCS12 for the broker's keystore) and the
JDK's keytool (the CA into the broker's truststore), valid for two days, in the test's folder.
"""

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificates:
    ca: Path  # PEM: the CA that signed the broker's and the client's certificates
    keystore: Path  # PKCS12: the broker's key and certificate (for 127.0.0.1 and localhost)
    truststore: Path  # PKCS12: the CA, which the broker trusts for client certificates
    store_password: str
    client_cert: Path  # PEM
    client_key: Path  # PEM, unencrypted


def make_certificates(folder: Path) -> Certificates:
    folder.mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(12)

    def run(*command: str) -> None:
        subprocess.run(command, cwd=folder, check=True, capture_output=True, timeout=60)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]  # EC: quicker to make than RSA

    run(
        "openssl",
        "req",
        "-x509",
        *key,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=casewatch CA",
    )
    (folder / "broker.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, subject, extensions in (("broker", "/CN=localhost", ["-extfile", "broker.ext"]),
                                      ("client", "/CN=casewatch", [])):  # fmt: skip
        run("openssl", "req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
        run("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", *extensions)  # fmt: skip
    run("openssl", "pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key", "-certfile", "ca.pem",
        "-name", "broker", "-out", "broker.p12", "-passout", f"pass:{password}")  # fmt: skip
    run("keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", "truststore.p12",
        "-storetype", "PKCS12", "-storepass", password)  # fmt: skip
    return Certificates(
        ca=folder / "ca.pem",
        keystore=folder / "broker.p12",
        truststore=folder / "truststore.p12",
        store_password=password,
        client_cert=folder / "client.pem",
        client_key=folder / "client.key",
    )
