"""Accounts as the unit of buying (pure): buying-committee roles from titles, coverage,
account scores rolled up from people, MQA and PQL decisions. No I/O and no clock."""
