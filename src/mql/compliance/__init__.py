"""Consent, jurisdictions and the outreach policy (issue 17), pure: no I/O, no clock.

- `mql.compliance.jurisdictions`: the jurisdiction of a contact from its country and
  region (the documented table);
- `mql.compliance.consent`: consent records and the consent state of a channel as of a
  time (the newest record then; the stricter of two at one moment, and across merged
  contacts; implied consent lapsing on the day the policy computes);
- `mql.compliance.policy`: the verdict "may we reach this contact on this channel at t,
  and why not", from the records, the suppression lists and the model's `consent:` rules.

The gates (hand-off, notifications, outbox) call the verdict in `mql.service`; scoring
never reads consent.
"""
