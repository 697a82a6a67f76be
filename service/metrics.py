"""Prometheus metrics: what the service counts and times, behind a tiny API.

Request latency is recorded by Litestar's Prometheus middleware (``outreach_request_duration
_seconds`` by method, route template and status; see :func:`prometheus_config`). The
domain metrics live here; call these functions, never the metric objects:

- :func:`referral_created` — a referral was stored by intake (not a replayed resend);
- :func:`contacts_applied` — the per-result counts of one contact batch;
- :func:`clustering_run` — how long a hotspot recompute of one layer took.

``/metrics`` serves them to a scraper holding the scrape token, or to an admin.

Several worker processes (``uvicorn --workers N``): prometheus_client's multiprocess mode
aggregates every worker's values when ``PROMETHEUS_MULTIPROC_DIR`` names an empty, writable
directory before the workers start (``outreach serve --workers N`` sets one up). Without it
each worker reports only its own counts, and a scrape reaches whichever worker answers.

>>> before = _value(REFERRALS_CREATED, source="doctest")
>>> referral_created("doctest")
>>> _value(REFERRALS_CREATED, source="doctest") - before
1.0
>>> clustering_run(0.01, "doctest")
>>> _value(CLUSTERING_SECONDS, layer="doctest", suffix="_count") >= 1
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram

PREFIX = "outreach"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REFERRALS_CREATED = Counter(
    f"{PREFIX}_referrals_created",
    "Referrals stored by intake (resends with a used submission key are not counted)",
    ["source"],
)
CONTACTS = Counter(
    f"{PREFIX}_contacts",
    "Contacts received in batches, by result (created, duplicate, conflict, rejected)",
    ["result"],
)
CLUSTERING_SECONDS = Histogram(
    f"{PREFIX}_clustering_run_seconds",
    "Wall-clock time of one hotspot clustering run, by layer",
    ["layer"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)


def referral_created(source: str) -> None:
    """Count one referral stored by intake from ``source`` (api, web, open311, import)."""
    REFERRALS_CREATED.labels(source=source).inc()


def contacts_applied(counts: Mapping[str, int]) -> None:
    """Count the results of one contact batch: ``{"created": 3, "duplicate": 1, ...}``."""
    for result, n in counts.items():
        if n:
            CONTACTS.labels(result=result).inc(n)


def clustering_run(seconds: float, layer: str) -> None:
    """Record one clustering run of ``layer`` that took ``seconds``."""
    CLUSTERING_SECONDS.labels(layer=layer).observe(seconds)


def prometheus_config() -> Any:
    """Litestar's Prometheus middleware: latency by route template (never the raw path, so
    ids in paths do not explode the label space)."""
    from litestar.plugins.prometheus import PrometheusConfig

    return PrometheusConfig(
        app_name="essex-outreach",
        prefix=PREFIX,
        group_path=True,
        buckets=list(LATENCY_BUCKETS),
        exclude=["^/metrics", "^/static"],
    )


def _value(metric: Any, *, suffix: str = "_total", **labels: str) -> float:
    return REGISTRY.get_sample_value(metric._name + suffix, labels) or 0.0
