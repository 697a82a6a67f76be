"""Prometheus metrics: what the service counts and times, behind a tiny API.

Request latency is recorded by Litestar's Prometheus middleware (``outreach_request_duration
_seconds`` by method, route template and status; see :func:`prometheus_config`). The
domain metrics live here; call these functions, never the metric objects:

- :func:`referral_created` — a referral was stored by intake (not a replayed resend);
- :func:`contacts_applied` — the per-result counts of one contact batch;
- :func:`clustering_run` — how long a hotspot recompute of one layer took;
- :func:`message_sent`, :func:`message_failed`, :func:`message_dead` — outbox deliveries;
- :func:`outbox_families` — the outbox's state (queued, sent, failed, oldest queued age), read
  from the database at each scrape, so every process reports the same shared figures.

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

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

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

MESSAGES_SENT = Counter(
    f"{PREFIX}_outbox_sent", "Outbox messages delivered by this process, by channel", ["channel"]
)
MESSAGE_FAILURES = Counter(
    f"{PREFIX}_outbox_failures",
    "Failed delivery attempts of outbox messages in this process, by channel",
    ["channel"],
)
MESSAGES_DEAD = Counter(
    f"{PREFIX}_outbox_dead_letters",
    "Outbox messages given up after the last attempt, by channel",
    ["channel"],
)
QUEUE_SECONDS = Histogram(
    f"{PREFIX}_outbox_queue_seconds",
    "Time from queuing an outbox message to its delivery, by channel",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0),
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


def message_sent(channel: str, queued_at: dt.datetime) -> None:
    """Count one delivered message and how long it waited in the outbox."""
    MESSAGES_SENT.labels(channel=channel).inc()
    waited = (dt.datetime.now(dt.UTC) - queued_at).total_seconds()
    QUEUE_SECONDS.labels(channel=channel).observe(max(waited, 0.0))


def message_failed(channel: str) -> None:
    MESSAGE_FAILURES.labels(channel=channel).inc()


def message_dead(channel: str) -> None:
    MESSAGES_DEAD.labels(channel=channel).inc()


def outbox_families(
    counts: Mapping[str, int], oldest_queued_s: float, retrying: int = 0
) -> Iterable[Any]:
    """Gauges of the shared outbox: messages per state (``dead``: failed and given up), queued
    ones that have failed at least once (``retrying``) and the age of the oldest queued
    message (0 when none waits).

    >>> [f.name.removeprefix("outreach_outbox_") for f in outbox_families({"queued": 2}, 3.5)]
    ['messages', 'retrying_messages', 'oldest_queued_age_seconds']
    """
    from service.vocabularies import MESSAGE_STATES

    by_state = GaugeMetricFamily(
        f"{PREFIX}_outbox_messages",
        "Outbox messages by state (shared by all processes)",
        labels=["state"],
    )
    for state in MESSAGE_STATES:
        by_state.add_metric([state], float(counts.get(state, 0)))
    failing = GaugeMetricFamily(
        f"{PREFIX}_outbox_retrying_messages",
        "Queued outbox messages that failed at least once and wait for another attempt",
        value=float(retrying),
    )
    oldest = GaugeMetricFamily(
        f"{PREFIX}_outbox_oldest_queued_age_seconds",
        "Age of the oldest queued outbox message (0: none queued)",
        value=oldest_queued_s,
    )
    return [by_state, failing, oldest]


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
