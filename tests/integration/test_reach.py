"""Reaching targets as company networks do: HTTPS with a private CA and client certificates,
through a real HTTP proxy (proxy.py), every failure a classified one-line reason.

Certificates come from a CA made here (trustme); the mock serves HTTPS with them. Runs
that only fail their preflight are started together: each mostly waits on a process start.
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from loadprofile.launch.mock import MockProcess
from tests.integration.conftest import FIXED_PROFILE, PROXY_PASSWORD, PROXY_USER, run_clis

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Pki:
    ca: Path
    server: Path  # key and chain for 127.0.0.1
    expired: Path
    other_name: Path  # valid, but for other.example
    client_cert: Path
    client_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    paths = Pki(*(folder / n for n in ("ca.pem", "server.pem", "expired.pem", "other.pem")),
                folder / "client.crt", folder / "client.key")  # fmt: skip
    ca.cert_pem.write_to_path(str(paths.ca))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(paths.server))
    ca.issue_cert(
        "127.0.0.1",
        not_before=datetime.datetime(2020, 1, 1),
        not_after=datetime.datetime(2021, 1, 1),
    ).private_key_and_cert_chain_pem.write_to_path(str(paths.expired))
    ca.issue_cert("other.example").private_key_and_cert_chain_pem.write_to_path(
        str(paths.other_name)
    )
    client = ca.issue_cert("client.loadprofile.test")
    client.cert_chain_pems[0].write_to_path(str(paths.client_cert))
    client.private_key_pem.write_to_path(str(paths.client_key))
    return paths


def _client_flags(pki: Pki) -> list[str]:
    return ["--client-cert", str(pki.client_cert), "--client-key", str(pki.client_key)]


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "requests.csv").open() as f:
        return list(csv.DictReader(f))


def test_https_with_a_private_ca_and_mutual_tls_and_each_way_it_fails(
    pki: Pki, mock_factory: Callable[..., MockProcess], tmp_path: Path, dataset: Path
) -> None:
    mtls = mock_factory(FIXED_PROFILE, "--tls-cert", str(pki.server),
                        "--tls-client-ca", str(pki.ca))  # fmt: skip
    expired = mock_factory(FIXED_PROFILE, "--tls-cert", str(pki.expired))
    other = mock_factory(FIXED_PROFILE, "--tls-cert", str(pki.other_name))
    assert mtls.url.startswith("https://")
    base = ["run", "--model", "fixed", "--dataset", str(dataset)]
    ca = ["--ca-cert", str(pki.ca)]
    ok_dir, insecure_dir = tmp_path / "ok", tmp_path / "insecure"
    runs = {
        "ok": [*base, "--host", mtls.url, *ca, *_client_flags(pki), "-u", "2", "-t", "3s",
               "--out", str(ok_dir)],
        "no client cert": [*base, "--host", mtls.url, *ca, "--out", str(tmp_path / "a")],
        "wrong CA": [*base, "--host", mtls.url, *_client_flags(pki), "--out", str(tmp_path / "b")],
        "expired": [*base, "--host", expired.url, *ca, "--out", str(tmp_path / "c")],
        "other name": [*base, "--host", other.url, *ca, "--out", str(tmp_path / "d")],
        "insecure": [*base, "--host", other.url, "--insecure", "-n", "2", "-u", "1",
                     "--out", str(insecure_dir)],
        "bad CA file": [*base, "--host", mtls.url, "--ca-cert", str(pki.client_key)],
        "snapshot": ["snapshot", "--host", mtls.url, "--model", "fixed", "--dataset",
                     str(dataset), "-n", "2", *ca, *_client_flags(pki),
                     "--out", str(tmp_path / "snap")],
    }  # fmt: skip
    done = dict(zip(runs, run_clis(list(runs.values()), tmp_path), strict=True))

    def one_line_error(name: str, code: int, *needles: str) -> None:
        result = done[name]
        assert result.returncode == code, (name, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1 and all(n in errors[0] for n in needles), (name, errors)

    one_line_error("no client cert", 3, "TLS", "client certificate")
    one_line_error("wrong CA", 3, "TLS", "not trusted", "--ca-cert")
    one_line_error("expired", 3, "TLS", "expired")
    one_line_error("other name", 3, "TLS", "another name")
    one_line_error("bad CA file", 2, "--ca-cert", "not a CA bundle")

    ok = done["ok"]
    assert ok.returncode == 0, ok.stderr
    rows = _rows(ok_dir)
    assert rows and all(r["error_class"] == "" for r in rows), rows[:3]
    opened = [r for r in rows if r["connection"] == "new"]
    assert opened and all(0 < float(r["tls_ms"]) <= float(r["connect_ms"]) for r in opened)
    assert all(r["tls_ms"] == "" for r in rows if r["connection"] == "reused")
    figures = json.loads((ok_dir / "summary.json").read_text())["models"]["fixed"]
    assert figures["tls_ms"]["count"] == len(opened) == figures["connect_ms"]["count"]
    # the handshake is not the server's time to first token: TTFT still starts before it
    assert min(float(r["ttft_ms"]) for r in rows) >= 80.0
    reach = json.loads((ok_dir / "run.json").read_text())["reach"]
    assert reach["ca_cert"] == {"file": str(pki.ca), "from": "--ca-cert"}
    assert "TLS handshake, p99 (ms)" in (ok_dir / "report.html").read_text()

    snapshot = done["snapshot"]  # a snapshot reaches the same servers the same way
    assert snapshot.returncode == 0, snapshot.stderr
    assert (tmp_path / "snap" / "snapshot.json").exists()

    insecure = done["insecure"]
    assert insecure.returncode == 0, insecure.stderr
    assert "--insecure" in insecure.stderr and "not verified" in insecure.stderr
    assert json.loads((insecure_dir / "run.json").read_text())["reach"]["insecure"] is True
    assert all(r["error_class"] == "" for r in _rows(insecure_dir))


def test_a_real_proxy_carries_https_in_a_tunnel_and_http_in_absolute_form(
    pki: Pki,
    mock_factory: Callable[..., MockProcess],
    proxy: tuple[int, Path],
    tmp_path: Path,
    dataset: Path,
) -> None:
    port, log = proxy
    secure = mock_factory(FIXED_PROFILE, "--tls-cert", str(pki.server))
    plain = mock_factory(FIXED_PROFILE)
    with_auth = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}"
    base = ["run", "--model", "fixed", "--dataset", str(dataset), "-u", "2"]
    tunnel_dir, plain_dir = tmp_path / "tunnel", tmp_path / "plain"
    runs = [
        [*base, "--host", secure.url, "--ca-cert", str(pki.ca), "--proxy", with_auth,
         "-t", "3s", "--out", str(tunnel_dir)],
        [*base, "--host", plain.url, "--proxy", with_auth, "-n", "6", "--out", str(plain_dir)],
        [*base, "--host", plain.url, "--proxy", f"http://{PROXY_USER}:nope@127.0.0.1:{port}",
         "--out", str(tmp_path / "refused")],
        [*base, "--host", secure.url, "--ca-cert", str(pki.ca),
         "--proxy", f"http://127.0.0.1:{port}", "--out", str(tmp_path / "no-auth")],
    ]  # fmt: skip
    tunnel, through, refused, no_auth = run_clis(runs, tmp_path)
    assert tunnel.returncode == 0, tunnel.stderr
    assert through.returncode == 0, through.stderr
    for failed, needle in ((refused, "refused our credentials"), (no_auth, "407")):
        assert failed.returncode == 3, failed.stderr
        assert needle in failed.stderr and "Traceback" not in failed.stderr, failed.stderr

    seen = log.read_text()
    assert f"CONNECT 127.0.0.1:{secure.url.rsplit(':', 1)[1]}" in seen
    assert f"POST 127.0.0.1:{plain.url.rsplit(':', 1)[1]}/v1/chat/completions" in seen
    for run_dir in (tunnel_dir, plain_dir):
        rows = _rows(run_dir)
        assert rows and all(r["error_class"] == "" for r in rows), rows[:3]
        meta = json.loads((run_dir / "run.json").read_text())
        assert meta["reach"]["proxy"] == f"127.0.0.1:{port}"
        assert meta["reach"]["proxied"] == {"fixed": f"127.0.0.1:{port}"}
        # the proxy adds a hop, not seconds: TTFT stays near the model's 80 ms
        ttft = sorted(float(r["ttft_ms"]) for r in rows)
        assert 80.0 <= ttft[len(ttft) // 2] < 80.0 + 60.0, ttft
        for path in run_dir.rglob("*"):
            if path.is_file():
                assert PROXY_PASSWORD.encode() not in path.read_bytes(), path
    for result in (tunnel, through, refused, no_auth):
        assert PROXY_PASSWORD not in result.stdout + result.stderr
