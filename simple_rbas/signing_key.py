"""The RSA key that signs the OpenID Connect provider's ID tokens, when none is configured."""

import contextlib
import functools
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils.functional import lazy


@functools.cache
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


def lazy_generated_rsa_key(path: Path) -> str:
    """`generated_rsa_key(path)`, made on first use (a signature, a JWKS request), not when the
    settings load: `collectstatic` at image build must not bake a key into the image."""
    return lazy(generated_rsa_key, str)(path)
