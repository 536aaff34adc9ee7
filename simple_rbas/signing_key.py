"""The RSA key that signs the OpenID Connect provider's ID tokens, when none is configured."""

import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def generated_rsa_key(path: Path) -> str:
    """The PEM private key stored at `path`, generated there (mode 0600) on first use.

    Several processes may start at once: each writes a key to a file of its own and links it
    into place, which fails for all but the first, so every process ends up with the same key.
    """
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=".oidc-key-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            os.unlink(draft)
    return path.read_text()
