"""Authentication results as the receiving side recorded them (Authentication-Results)."""

from __future__ import annotations

from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal

_SPF_FAIL = ("fail", "softfail", "hardfail")


def spf_failed(m: Message) -> bool:
    return any(r.method == "spf" and r.result in _SPF_FAIL for r in m.auth)


def dkim_failed(m: Message) -> bool:
    """A DKIM signature failed and none passed (a broken extra signature is common and benign)."""
    results = [r.result for r in m.auth if r.method == "dkim"]
    return "fail" in results and "pass" not in results


def dmarc_failed(m: Message) -> bool:
    return any(r.method == "dmarc" and r.result == "fail" for r in m.auth)


@signal("message.auth.spf", str)
def spf(m: Message, ctx: Context) -> str:
    """The SPF result (pass, fail, softfail, neutral, none...; "" when not recorded)."""
    return m.auth_result("spf")


@signal("message.auth.dkim", str)
def dkim(m: Message, ctx: Context) -> str:
    """The DKIM result ("pass" when any signature passed; "" when not recorded)."""
    results = [r.result for r in m.auth if r.method == "dkim"]
    if "pass" in results:
        return "pass"
    return results[0] if results else ""


@signal("message.auth.dmarc", str)
def dmarc(m: Message, ctx: Context) -> str:
    """The DMARC result ("" when not recorded)."""
    return m.auth_result("dmarc")


@signal("message.auth.compauth", str)
def compauth(m: Message, ctx: Context) -> str:
    """Microsoft's composite authentication result ("" when not recorded)."""
    return m.auth_result("compauth")


@signal("message.auth.fail", bool)
def auth_fail(m: Message, ctx: Context) -> bool:
    """SPF failed or softfailed, DKIM failed (and none passed), or DMARC failed."""
    return spf_failed(m) or dkim_failed(m) or dmarc_failed(m)


@signal("message.auth.dmarc_fail", bool)
def dmarc_fail(m: Message, ctx: Context) -> bool:
    """DMARC failed."""
    return dmarc_failed(m)
