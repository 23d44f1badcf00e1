"""The longest text the store keeps in its identity and event columns: one table for the
store's schema (`mql.store.tables`) and for the readers that refuse a longer value with
the row's own reason (`mql.ingest.segment`), so a value that could not be stored is
refused where it arrives, never found later by a failing insert. Imports nothing.

>>> EVENT_ID, EMAIL
(200, 320)
"""

from __future__ import annotations

EVENT_ID = 200  # a message id / event id
EVENT_TYPE = 100  # an event type (a track event's name as words joined by "_")
EMAIL = 320  # an address (RFC 5321: 64 + 1 + 255)
ANONYMOUS_ID = 200  # a cookie / device id
IDENTIFIER = 320  # any identity value (external ids such as a Segment userId)
DOMAIN = 255  # a web domain (DNS: 253 characters)
