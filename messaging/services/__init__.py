"""Every write of the messaging engine (docs/messaging.md).

* ``sending``  — ``send`` / ``send_plan`` / ``send_plans_bulk``: validate, render, check
  opt-outs, route, and queue messages (one ``DeliveryPlan`` per recipient).
* ``dispatch`` — claim queued messages per gateway in batches, token bucket, hand them to the
  driver, record attempts.
* ``intake``   — delivery reports and inbound messages, applied in bulk, never backwards.
* ``fallback`` — plans: success criterion, deadlines swept in bulk, next step.
* ``hooks``    — the one inbound hook conversations and chatbots subscribe to.
"""

from messaging.services.hooks import subscribe_inbound  # noqa: F401
from messaging.services.intake import apply_reports, receive_inbound  # noqa: F401
from messaging.services.sending import SendError, StepSpec, send, send_plan, send_plans_bulk  # noqa: F401
