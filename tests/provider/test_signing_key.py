"""The ID tokens' key when none is configured: generated once, private, the same for every
process; the JWKS publishes its public half."""

import json
import threading

from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk

from simple_rbas.signing_key import generated_rsa_key


def test_the_key_is_generated_once_into_a_private_file(tmp_path):
    path = tmp_path / "keys" / "oidc.pem"
    pem = generated_rsa_key(path)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert path.stat().st_mode & 0o777 == 0o600
    generated_rsa_key.cache_clear()
    assert generated_rsa_key(path) == pem
    assert serialization.load_pem_private_key(pem.encode(), None).key_size == 2048
    assert list(path.parent.iterdir()) == [path]  # no draft left behind


def test_processes_starting_together_end_up_with_one_key(tmp_path):
    path = tmp_path / "oidc.pem"
    results = []

    def start():
        generated_rsa_key.__wrapped__(path)
        results.append(path.read_text())

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert list(tmp_path.iterdir()) == [path]


def test_the_jwks_publishes_the_public_half_of_the_signing_key(client, settings, tmp_path):
    pem = generated_rsa_key(tmp_path / "oidc.pem")
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": pem}
    keys = client.get("/o/.well-known/jwks.json").json()["keys"]
    private = jwk.JWK.from_pem(pem.encode())
    assert [key["kid"] for key in keys] == [private.thumbprint()]
    assert keys[0]["n"] == json.loads(private.export_public())["n"]
    assert "d" not in keys[0]
