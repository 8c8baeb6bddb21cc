"""UserProvisioning: onboarding across gate, block and link, with every gap closed.

As in the reference (thunderline-sagas.md)::

    validate_email -> generate_token -> send_magic_link -> create_user
        -> provision_vault          \\
        -> create_default_community  -> emit_onboarding_event

* ``validate_email`` is local: ``^[^\\s]+@[^\\s]+\\.[^\\s]+$``; anything but a
  matching string fails with ``invalid_email_format`` before any effect.
* Every other step is a command to a domain actor; each effect is undone
  (last completed first) when a later step fails: the token is revoked, the
  user deleted, the vault deprovisioned, **the membership removed** (a stub
  in the original). Mail cannot be unsent.
* The magic link carries the correlation id (the original's sender did not).
* ``magic_link_redirect`` must be a local path (``/...``, not ``//host``);
  it is checked when the start is admitted, so a bad one is refused
  (``invalid_input``) before any token is issued.
* ``provision_vault`` and ``create_default_community`` run concurrently.
* ``emit_onboarding_event`` publishes ``user.onboarding.complete``; it never
  fails the saga (publish errors and timeouts end in ``Continue``).

Result: ``{"user": ..., "vault": ..., "membership": ..., "event_id": ...}``.
Error codes: ``invalid_email_format``, ``magic_link_send_failed``,
``user_creation_failed``, ``vault_provisioning_failed``,
``community_join_failed`` (the domain's own code kept in ``details.cause``).
"""

from __future__ import annotations

import re
from typing import Any

from sagaline.events.envelope import new_event
from sagaline.events.flow import PublishEvent
from sagaline.messages.common import CommandFailed
from sagaline.saga import CommandStep, Continue, Fail, Ok, Saga, SagaDefinition, StepError, input_, local, result
from thunderline.messages.block import DeprovisionVault, ProvisionVault
from thunderline.messages.gate import CreateUser, DeleteUser, IssueToken, RevokeToken, SendMagicLink, local_redirect
from thunderline.messages.link import JoinCommunity, LeaveCommunity

__all__ = ["NAME", "EMAIL_RE", "definition", "COMMAND_TIMEOUT_S"]

NAME = "user_provisioning"
EMAIL_RE = re.compile(r"^[^\s]+@[^\s]+\.[^\s]+$")
#: Seconds a domain command may take before it is re-sent with the same key.
COMMAND_TIMEOUT_S = 5.0


def _validate_email(args, ctx):
    email = args["email"]
    if not isinstance(email, str) or not EMAIL_RE.match(email):
        return Fail(StepError("invalid_email_format", f"not an email address: {email!r}"[:200]))
    return Ok(email)


def _onboarding_event(args, ctx) -> PublishEvent:
    event = new_event(
        "user.onboarding.complete",
        "gate",
        {"user_id": args["user"]["user_id"], "email": args["user"]["email"], "vault_id": args["vault"]["vault_id"]},
        ctx.run_id,
        ctx.causation_id,
    )
    return PublishEvent(headers=ctx.headers(), event=event)


def _onboarding_result(reply: Any, args) -> Ok:
    """Emission never fails the saga: whatever the bus answered, onboarding is done."""
    event_id = None if isinstance(reply, CommandFailed) else getattr(reply, "event_id", None)
    return Ok({"user": args["user"], "vault": args["vault"], "membership": args["membership"], "event_id": event_id})


def definition(command_timeout: float = COMMAND_TIMEOUT_S) -> SagaDefinition:
    """Build the UserProvisioning saga definition."""
    s = Saga(
        NAME, description="onboard a user: token, magic link, user, vault, membership, event", announce=True
    )  # the original published reactor.saga.* (its reactor_events flag)
    s.input("email", str, description="the new user's address (the magic link goes there)")
    s.input(
        "magic_link_redirect",
        str,
        default="/",
        transform=local_redirect,
        description="where the magic link leads after sign-in: a local path (/...)",
    )
    s.step("validate_email", local(_validate_email), args={"email": input_("email")})
    s.step(
        "generate_token",
        CommandStep(
            "gate",
            build=lambda a, ctx: IssueToken(headers=ctx.headers(), email=a["email"]),
            build_undo=lambda v, a, ctx: RevokeToken(headers=ctx.headers(), effect_key=ctx.run_key),
        ),
        args={"email": result("validate_email")},
        timeout=command_timeout,
    )
    s.step(
        "send_magic_link",
        CommandStep(
            "gate",
            build=lambda a, ctx: SendMagicLink(
                headers=ctx.headers(), email=a["email"], token=a["token"], redirect=a["redirect"]
            ),
            failure_code="magic_link_send_failed",
        ),
        args={
            "email": result("validate_email"),
            "token": result("generate_token", "token"),
            "redirect": input_("magic_link_redirect"),
        },
        timeout=command_timeout,
    )
    s.step(
        "create_user",
        CommandStep(
            "gate",
            build=lambda a, ctx: CreateUser(headers=ctx.headers(), email=a["email"]),
            build_undo=lambda v, a, ctx: DeleteUser(headers=ctx.headers(), effect_key=ctx.run_key),
            failure_code="user_creation_failed",
        ),
        args={"email": result("validate_email")},
        wait_for=["send_magic_link"],
        timeout=command_timeout,
    )
    s.step(
        "provision_vault",
        CommandStep(
            "block",
            build=lambda a, ctx: ProvisionVault(headers=ctx.headers(), user_id=a["user_id"]),
            build_undo=lambda v, a, ctx: DeprovisionVault(headers=ctx.headers(), effect_key=ctx.run_key),
            failure_code="vault_provisioning_failed",
        ),
        args={"user_id": result("create_user", "user_id")},
        timeout=command_timeout,
    )
    s.step(
        "create_default_community",
        CommandStep(
            "link",
            build=lambda a, ctx: JoinCommunity(headers=ctx.headers(), user_id=a["user_id"]),
            build_undo=lambda v, a, ctx: LeaveCommunity(headers=ctx.headers(), effect_key=ctx.run_key),
            failure_code="community_join_failed",
        ),
        args={"user_id": result("create_user", "user_id")},
        timeout=command_timeout,
    )
    s.step(
        "emit_onboarding_event",
        CommandStep(
            "flow",
            build=_onboarding_event,
            parse=_onboarding_result,
            build_compensate=lambda reason, a, ctx: Continue(_onboarding_result(None, a).value),
        ),
        args={
            "user": result("create_user"),
            "vault": result("provision_vault"),
            "membership": result("create_default_community"),
        },
        timeout=command_timeout,
    )
    s.returns("emit_onboarding_event")
    return s.build()
