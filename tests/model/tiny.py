"""The smallest valid model, for tests to change one line of."""

BASE = """\
name: tiny
fit:
  rules:
    - name: us
      when: {field: contact.country, op: eq, value: US}
      points: 10
intent:
  rules:
    - name: demo
      event: demo_request
      points: 40
mql:
  thresholds: {total: 45}
"""
