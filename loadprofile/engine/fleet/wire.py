"""What workers and the master of a distributed run say to each other (pure core).

Everything here travels inside Locust's own messages (msgpack): plain dicts, lists, str,
numbers and bytes; never pickles, since a worker must not run what arrives on a socket.

- ``Packet``: one closed interval of one worker, with its histograms (HdrHistogram's V2
  encoding, compressed, so the master merges them exactly), counts, users, the worker's own
  health, and the per-request rows finished in it. Packets carry a sequence number (the
  interval's index on the run's shared clock); the master keeps each once and acknowledges
  the highest contiguous one, and ``Outbox`` resends what was not acknowledged, so a lost
  message never loses an interval.
- The run's configuration and conversations, which the master hands every worker, so a
  worker needs nothing but the master's address and all workers send byte-identical prompts.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from hdrh.codec import HdrCookieException, HdrHistogramSettingsException, HdrLengthException
from hdrh.histogram import HdrHistogram

from loadprofile.config.check_options import ContentContract, OutputSampling
from loadprofile.config.pricing import Price
from loadprofile.config.reach import ProxyOptions, ProxyUrl, ReachOptions, TlsOptions
from loadprofile.config.run_config import LoadConfig, RunConfig, StageSpec
from loadprofile.config.targets import target_from_wire
from loadprofile.core.collector import ModelInterval, new_histogram
from loadprofile.core.counts import Counts
from loadprofile.core.generator_health import GeneratorSample
from loadprofile.core.hdr import acyclic
from loadprofile.core.metrics import HISTOGRAM_METRICS
from loadprofile.dataset.conversations import Conversation, Turn

#: Message types (Locust custom messages). Worker -> master:
HELLO = "loadprofile_hello"  # {"version", "host", "pid"}
PACKET = "loadprofile_packet"  # an encoded Packet
#: Master -> worker:
CONFIG = "loadprofile_config"  # the run (config, conversations, run id, start time if known)
REFUSE = "loadprofile_refuse"  # {"reason"}: the worker must quit
START = "loadprofile_start"  # {"start_unix", "shares": {client id: [index, count]}}
ACK = "loadprofile_ack"  # {"upto": seq}: every packet up to seq is kept
DRAIN = "loadprofile_drain"  # the load is over: finish requests in flight, send the last packet


@dataclass
class Packet:
    """One interval of one worker (``seq`` = index of the interval on the run's clock)."""

    seq: int
    first_seq: int  # the worker's first interval: the master acknowledges from there
    start_s: float
    end_s: float
    intervals: list[ModelInterval]
    users: dict[str, int]
    sample: GeneratorSample | None
    rows: list[list[str]] = field(default_factory=list)
    final: bool = False
    # In the final packet: what the worker counted over the whole run.
    stats: dict[str, Any] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)  # replies breaking the contract

    @property
    def requests(self) -> int:
        return sum(iv.counts.requests for iv in self.intervals)


def encode_packet(p: Packet) -> dict[str, Any]:
    return {
        "seq": p.seq,
        "first_seq": p.first_seq,
        "start_s": p.start_s,
        "end_s": p.end_s,
        "intervals": [_encode_interval(iv) for iv in p.intervals],
        "users": dict(p.users),
        "sample": asdict(p.sample) if p.sample is not None else None,
        # A second's rows (~100 kB at 1000 req/s): msgspec and zlib's fastest level keep
        # this under a millisecond on the worker's hot loop.
        "rows": zlib.compress(msgspec.json.encode(p.rows), 1) if p.rows else b"",
        "final": p.final,
        "stats": p.stats,
        "examples": p.examples,
    }


def decode_packet(d: dict[str, Any]) -> Packet:
    """The inverse of ``encode_packet``; raises ValueError on anything malformed."""
    try:
        rows_blob = d["rows"]
        return Packet(
            seq=int(d["seq"]),
            first_seq=int(d["first_seq"]),
            start_s=float(d["start_s"]),
            end_s=float(d["end_s"]),
            intervals=[
                _decode_interval(iv, float(d["start_s"]), float(d["end_s"]))
                for iv in d["intervals"]
            ],
            users={str(k): int(v) for k, v in d["users"].items()},
            sample=GeneratorSample(**d["sample"]) if d["sample"] else None,
            rows=json.loads(zlib.decompress(rows_blob)) if rows_blob else [],
            final=bool(d["final"]),
            stats=dict(d.get("stats") or {}),
            examples=[dict(e) for e in d.get("examples") or []],
        )
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        AttributeError,
        zlib.error,
        HdrCookieException,
        HdrLengthException,
        HdrHistogramSettingsException,
    ) as exc:
        raise ValueError(f"malformed packet: {type(exc).__name__}: {exc}") from None


def _encode_interval(iv: ModelInterval) -> dict[str, Any]:
    c = iv.counts
    return {
        "model": iv.model,
        "histograms": {m: h.encode() for m, h in iv.histograms.items() if h.get_total_count()},
        "counts": c.to_json(),
    }


def _decode_interval(d: dict[str, Any], start_s: float, end_s: float) -> ModelInterval:
    histograms = {metric: new_histogram() for metric in HISTOGRAM_METRICS}
    for metric, blob in d["histograms"].items():
        if metric not in histograms:
            raise ValueError(f"unknown metric {metric!r}")
        histograms[metric].add(acyclic(HdrHistogram.decode(blob)))
    counts = Counts.from_json(d["counts"])
    return ModelInterval(str(d["model"]), start_s, end_s, histograms, counts)


class Outbox:
    """A worker's packets until the master acknowledges them (resent when overdue)."""

    def __init__(self, resend_after_s: float = 3.0) -> None:
        self.resend_after_s = resend_after_s
        self._unacked: dict[int, tuple[float, dict[str, Any]]] = {}  # seq -> (sent at, wire)
        self.acked_upto = -1
        self.resent = 0

    def put(self, seq: int, wire: dict[str, Any], now_s: float) -> None:
        self._unacked[seq] = (now_s, wire)

    def ack(self, upto: int) -> None:
        self.acked_upto = max(self.acked_upto, upto)
        for seq in [s for s in self._unacked if s <= upto]:
            del self._unacked[seq]

    def overdue(
        self, now_s: float, limit: int = 10, after_s: float | None = None
    ) -> list[dict[str, Any]]:
        """Packets sent more than ``after_s`` (default ``resend_after_s``) ago and still not
        acknowledged (oldest first, at most ``limit``); marked as sent again now."""
        wait = self.resend_after_s if after_s is None else after_s
        due = sorted(s for s, (at, _) in self._unacked.items() if now_s - at >= wait)
        out = []
        for seq in due[:limit]:
            wire = self._unacked[seq][1]
            self._unacked[seq] = (now_s, wire)
            out.append(wire)
        self.resent += len(out)
        return out

    @property
    def pending(self) -> int:
        return len(self._unacked)


# -- the run, as the master hands it to every worker ----------------------------------------


def config_to_wire(config: RunConfig) -> dict[str, Any]:
    """The resolved config (hosts filled in): workers run exactly what the master resolved."""
    load = asdict(config.load)
    return {
        "targets": [asdict(t) for t in config.targets],
        "load": load,
        "dataset": str(config.dataset) if config.dataset else None,
        "content": asdict(config.content),
        "samples": {"per_model": config.samples.per_model},  # baselines: the master's
        "entities": list(config.entities),
        "prices": {name: price.to_json() for name, price in config.prices},
        # certificate paths (the same on every machine) and the proxy, its password too:
        # a worker reaches the targets the way the master was told to
        "reach": asdict(config.reach),
    }


def config_from_wire(d: dict[str, Any]) -> RunConfig:
    try:
        raw_load = dict(d["load"])
        raw_load["think_time_s"] = tuple(raw_load["think_time_s"])
        raw_load["steps"] = tuple(raw_load["steps"])
        raw_load["stages"] = tuple(StageSpec(**s) for s in raw_load["stages"])
        raw_load["retry_on"] = tuple(raw_load.get("retry_on") or ())
        raw_load["stable_metrics"] = tuple(raw_load.get("stable_metrics") or ())
        return RunConfig(
            targets=tuple(target_from_wire(t) for t in d["targets"]),
            dataset=Path(d["dataset"]) if d.get("dataset") else None,
            out_dir=None,
            load=LoadConfig(**raw_load),
            content=ContentContract(**d.get("content", {})),
            samples=OutputSampling(int((d.get("samples") or {}).get("per_model", 0))),
            entities=tuple(str(e) for e in d.get("entities") or ()),
            prices=tuple((str(n), Price(**p)) for n, p in (d.get("prices") or {}).items()),
            reach=reach_from_wire(d.get("reach") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed run config from the master: {exc}") from None


def reach_from_wire(d: dict[str, Any]) -> ReachOptions:
    proxy = d.get("proxy") or {}
    url = proxy.get("proxy")
    return ReachOptions(
        TlsOptions(**d.get("tls", {})),
        ProxyOptions(ProxyUrl(**url) if url else None, bool(proxy.get("ignore_environment"))),
    )


def conversations_to_wire(conversations: list[Conversation]) -> bytes:
    records = [
        {
            "id": c.id,
            "system": c.system,
            "turns": [[t.user, t.assistant, t.max_tokens, t.extra_body] for t in c.turns],
        }
        for c in conversations
    ]
    return zlib.compress(json.dumps(records, ensure_ascii=False).encode("utf-8"), 6)


def conversations_from_wire(blob: bytes) -> list[Conversation]:
    try:
        records = json.loads(zlib.decompress(blob))
        return [
            Conversation(r["id"], r["system"], tuple(Turn(*turn) for turn in r["turns"]))
            for r in records
        ]
    except (KeyError, TypeError, ValueError, zlib.error) as exc:
        raise ValueError(f"malformed conversations from the master: {exc}") from None
