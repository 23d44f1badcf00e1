"""The marketing channel of a touch, from its `channel` property and UTM tags, by the
model's channel table (`reports.channels`; first rule that matches wins).

>>> from mql.model.reports import ReportSettings
>>> s = ReportSettings()
>>> channel_of(None, "CPC", "google", s), channel_of("events", None, None, s)
('paid_search', 'events')
>>> channel_of(None, "banner", "acme", s)
'other'
"""

from __future__ import annotations

from mql.model.reports import ReportSettings


def _clean(value: str | None) -> str | None:
    return None if value is None or not value.strip() else value.strip().lower()


def channel_of(channel: str | None, utm_medium: str | None, utm_source: str | None,
               settings: ReportSettings) -> str:
    """The channel of a touch; `settings.other_channel` when no rule matches. A touch's
    own `channel` property is tried against every rule before its UTM tags (an explicit
    channel wins over a guess from the tags)."""
    name, medium, source = _clean(channel), _clean(utm_medium), _clean(utm_source)
    for rule in settings.channels:
        if name is not None and name in rule.names:
            return rule.channel
    for rule in settings.channels:
        if medium is not None and medium in rule.utm_medium:
            return rule.channel
        if source is not None and source in rule.utm_source:
            return rule.channel
    return settings.other_channel
