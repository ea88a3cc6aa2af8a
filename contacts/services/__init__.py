"""Every write and business rule of the contact base, split by concern:

* ``core``    — attributes, contacts, tags, targets, mass edit;
* ``optouts`` — opt-out words, contact opt-outs, the MO hook and the send check;
* ``imports`` — the import wizard and quick import.
"""

from .core import *  # noqa: F401,F403
