"""Every write and business rule of the contact base, split by concern:

* ``core``    — attributes, contacts, tags, targets, mass edit;
* ``optouts`` — opt-out words, contact opt-outs, the MO hook and the send check;
* ``imports`` — the import wizard and quick import.
"""

from .bulk import *  # noqa: F401,F403
from .core import *  # noqa: F401,F403
from .imports import *  # noqa: F401,F403
from .optouts import *  # noqa: F401,F403
from .tags import *  # noqa: F401,F403
