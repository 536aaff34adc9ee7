"""Wheels written by hand for the tests of scripts' dependencies: uv installs them from a
local folder, so no test needs a package index."""

import base64
import hashlib
import zipfile


def write_wheel(folder, name: str, version: str, files: dict[str, str]) -> None:
    """Write a pure-Python wheel by hand (a zip with METADATA, WHEEL and RECORD)."""
    dist = f"{name.replace('-', '_')}-{version}"
    entries = {
        **files,
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = ""
    for path, text in entries.items():
        digest = hashlib.sha256(text.encode()).digest()
        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record += f"{path},sha256={encoded},{len(text.encode())}\n"
    entries[f"{dist}.dist-info/RECORD"] = record + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{dist}-py3-none-any.whl", "w") as archive:
        for path, text in entries.items():
            archive.writestr(path, text)
