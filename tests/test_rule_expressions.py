"""The condition language: what a detection engineer can write, and what is refused."""

import pytest

from mailwarden.detectors.rules.expr import ExpressionError, compile_expression

VALUES = {
    "sender.freemail": True,
    "sender.vip_impersonation": True,
    "sender.domain": "gmail.com",
    "sender.display_name": "Dana Whitfield",
    "message.urgency": 2,
    "message.attachment.extensions": ("pdf", "exe"),
    "message.subject": "RE: Wire today",
}


def holds(source: str) -> bool:
    return compile_expression(source, VALUES)(VALUES)


def test_boolean_logic_with_comments_between_clauses() -> None:
    source = """
    # the display name is a VIP's but the address is not theirs
    sender.vip_impersonation
    # and a free-mail provider sent it
    and sender.freemail
    and not message.urgency < 1
    """
    assert holds(source)


def test_comparisons_membership_and_functions() -> None:
    assert holds('sender.domain in ["gmail.com", "yahoo.com"]')
    assert holds('"exe" in message.attachment.extensions')
    assert holds('any_in(message.attachment.extensions, ["exe", "scr"])')
    assert not holds('any_in(message.attachment.extensions, ["js"])')
    assert holds('matches(message.subject, "^re:\\\\s*wire")')
    assert holds('contains(sender.display_name, "WHITFIELD")')
    assert holds("1 <= message.urgency < 3")
    assert holds("len(message.attachment.extensions) == 2")
    assert holds("sender.freemail == true")


def test_compiled_expression_names_the_signals_it_reads() -> None:
    compiled = compile_expression("sender.freemail and message.urgency > 1", VALUES)
    assert compiled.signals == {"sender.freemail", "message.urgency"}


def test_only_what_is_read_is_computed() -> None:
    read: list[str] = []

    class Recording(dict[str, object]):
        def __getitem__(self, key: str) -> object:
            read.append(key)
            return VALUES[key]

    compile_expression("sender.freemail or message.urgency > 1", VALUES)(Recording())
    assert read == ["sender.freemail"]  # `or` short-circuits: urgency was never computed


def test_mismatched_types_make_a_clause_false_not_an_error() -> None:
    assert not holds('message.urgency > "a"')


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("__import__('os').system('id')", "not a known function"),
        ("sender.freemail.__class__", "unknown signal"),
        ("open('/etc/passwd')", "unknown function"),
        ("[x for x in message.subject]", "not allowed"),
        ("lambda: 1", "not allowed"),
        ("sender.nope", "unknown signal"),
        ("matches(message.subject, sender.domain)", "literal"),
        ("matches(message.subject, '(')", "bad regex"),
        ("sender.freemail and", "syntax error"),
        ("", "empty"),
        ("message.subject[0]", "not allowed"),
    ],
)
def test_unsafe_or_broken_conditions_are_refused_at_load(source: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason):
        compile_expression(source, VALUES)
