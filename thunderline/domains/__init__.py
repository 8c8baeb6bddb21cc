"""The Thunderline domain services: gate, block, link, bolt, crown, and what they use.

Each service follows the runtime's contract (:mod:`sagaline.domains`):
``Service(store, clock, config)``, ``await start()``, ``await handle(command)``
answering every command with a Reply. Beside them: mail (gate's magic
links), policy (crown's TOML rules), NAS proposals, the Pareto frontier and
training (scikit-learn, imported only inside the functions that train).
"""

from thunderline.domains.block import BlockConfig, BlockService
from thunderline.domains.gate import GateConfig, GateService
from thunderline.domains.link import LinkConfig, LinkService
from thunderline.domains.mail import MailSender, MailSendError, OutboxSender, SmtpConfig, SmtpSender

__all__ = [
    "BlockConfig",
    "BlockService",
    "GateConfig",
    "GateService",
    "LinkConfig",
    "LinkService",
    "MailSendError",
    "MailSender",
    "OutboxSender",
    "SmtpConfig",
    "SmtpSender",
]
