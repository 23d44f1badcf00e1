"""Multi-touch attribution (issue 18): which marketing channels get the credit for the
conversions (opportunities), the pipeline and the won revenue, from the same touches the
scoring model reads. Pure: journeys in, credit out; no I/O, no clock.

- `journeys`: a touch, a journey (touches before one conversion, or a journey that did not
  convert), and the aggregated paths of the ChannelAttribution format;
- `rules`: first, last, last non-direct, linear, U, W, Z, time decay, J and inverse J;
- `markov`: removal effects of a Markov chain of order k, exact (absorbing-chain algebra);
- `shapley`: Shapley values over coalitions of channels, exact or sampled;
- `compare`: every model at once, credit per channel, with the credit summing to the
  conversions and the value.

>>> from mql.attribution.journeys import Journey, Touch
>>> from mql.attribution.compare import attribute
>>> j = Journey("c1", (Touch("events"), Touch("email"), Touch("paid_search")), conversions=1)
>>> {c: round(x, 12) for c, x in attribute([j], "u").conversions.items()}
{'email': 0.2, 'events': 0.4, 'paid_search': 0.4}
"""
