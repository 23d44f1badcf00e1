"""Funnel analytics: the definitions, cohort arithmetic and health verdicts every report
shares (pure: no I/O, no clock; the reports' SQL lives in `mql.batch.reports`)."""
