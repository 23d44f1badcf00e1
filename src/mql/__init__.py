"""mql decides, continuously and explainably, which B2B leads and accounts are ready for
sales.

>>> import mql
>>> sorted(mql.__all__)[:4]
['Account', 'Contact', 'Decision', 'Event']
"""

from mql.errors import ModelError, MQLError
from mql.model.parse import parse_model
from mql.records import Account, Contact, Event
from mql.scoring.explain import Explanation, explain
from mql.scoring.qualify import Decision
from mql.scoring.scorer import Scorer, score

__version__ = "0.1.0"

__all__ = [
    "Account",
    "Contact",
    "Decision",
    "Event",
    "Explanation",
    "MQLError",
    "ModelError",
    "Scorer",
    "__version__",
    "explain",
    "parse_model",
    "score",
]
