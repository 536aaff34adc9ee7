"""The index uv uses: its own UV_* variables, else the machine's pip configuration."""

from scripts_api.package_index import pip_config_files, uv_certificate, uv_index_args


def _conf(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_pip_files_and_variables_become_uv_flags(tmp_path):
    system = _conf(
        tmp_path / "etc/pip.conf",
        "[global]\nfind-links = /opt/wheels\n"
        "extra-index-url = file:///opt/pypi/simple file:///opt/pypi-more/simple\n",
    )
    user = _conf(tmp_path / "home/.config/pip/pip.conf", "[global]\nindex-url = https://a/simple\n")
    assert uv_index_args({}, [system, user]) == [
        "--index-url", "https://a/simple",
        "--extra-index-url", "file:///opt/pypi/simple",
        "--extra-index-url", "file:///opt/pypi-more/simple",
        "--find-links", "/opt/wheels",
        "--index-strategy", "unsafe-best-match",
    ]  # fmt: skip
    environ = {"PIP_INDEX_URL": "https://b/simple", "PIP_FIND_LINKS": "/w1 /w2"}
    assert uv_index_args(environ, [system, user])[:2] == ["--index-url", "https://b/simple"]
    assert uv_index_args(environ, [system, user])[-6:-2] == [
        "--find-links", "/w1", "--find-links", "/w2",
    ]  # fmt: skip


def test_the_install_section_overrides_global_and_later_files_override_earlier(tmp_path):
    first = _conf(tmp_path / "a.conf", "[global]\nindex-url = https://first/simple\n")
    second = _conf(
        tmp_path / "b.conf",
        "[global]\nindex-url = https://second/simple\n[install]\nno-index = true\n",
    )
    assert uv_index_args({}, [first]) == ["--index-url", "https://first/simple"]
    assert uv_index_args({}, [first, second]) == ["--no-index"]


def test_uv_variables_win_and_the_pip_configuration_is_not_read(tmp_path):
    conf = _conf(tmp_path / "pip.conf", "[global]\nindex-url = https://pip/simple\n")
    assert uv_index_args({"UV_INDEX_URL": "https://uv/simple"}, [conf]) == []
    assert uv_index_args({"UV_DEFAULT_INDEX": "https://uv/simple"}, [conf]) == []


def test_no_configuration_leaves_uv_on_its_default_index(tmp_path):
    assert uv_index_args({}, [tmp_path / "missing.conf"]) == []
    broken = _conf(tmp_path / "broken.conf", "not an ini file\n[global\n")
    assert uv_index_args({}, [broken]) == []


def test_pip_reads_its_files_in_its_own_order(tmp_path):
    environ = {"HOME": "/home/u", "PIP_CONFIG_FILE": "/srv/pip.conf"}
    assert [str(p) for p in pip_config_files(environ)][:4] == [
        "/etc/xdg/pip/pip.conf",
        "/etc/pip.conf",
        "/home/u/.pip/pip.conf",
        "/home/u/.config/pip/pip.conf",
    ]
    assert str(pip_config_files(environ)[-1]) == "/srv/pip.conf"
    assert pip_config_files({"PIP_CONFIG_FILE": "/dev/null"}) == []


def test_the_certificate_pip_trusts_is_given_to_uv(tmp_path):
    conf = _conf(tmp_path / "pip.conf", "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    assert uv_certificate({}, [conf]) == "/etc/ssl/certs/ca-certificates.crt"
    assert uv_certificate({"PIP_CERT": "/x.pem"}, [conf]) == "/x.pem"
    assert uv_certificate({"SSL_CERT_FILE": "/y.pem"}, [conf]) == "/y.pem"
