"""The baseline's state as small JSON records per key, and the pure functions over them.

Every store keeps the same records (a key -> one small JSON-able value) and runs the same
`apply` and `build_view`, so stores differ only in where records live (a dict, a SQLite table,
later a Redis hash) and cannot drift apart in what they learn. Learning one message reads and
writes a handful of keys, chosen by `learn_keys`; a view reads the keys chosen by `view_keys`.

Keys (the tenant is held beside the key by each store):
  ``a:<addr>``        an address: as sender (known-good counts, seen-but-bad count, dates, active
                      days, recent window, names, Reply-Tos, send hours, distinct recipients), as
                      correspondent (times the org wrote to it) and as recipient (received, safe,
                      first contact)
  ``p:<from> <to>``   a pair: ``[messages, first, last]``; "the recipient wrote back" is the
                      reverse pair's count, read at view time
  ``d:<registrable>`` a sender domain
  ``n:<name>``        a normalised display name: the addresses it was used with
  ``$:<registrable>`` payment fingerprints seen from a domain
  ``m:<message-id>``  a learned Message-ID (idempotence; and which threads the org had): 1 when
                      learned as history, 2 when judged malicious
  ``s:<hash>``        a conversation (subject without RE:/FW:) had with one outside party,
                      learned from mail not judged malicious (see `observation.thread_subject`)
  ``c:``, ``c:<i>``   the correspondent domains (see `correspondents`): ``c:`` how many,
                      ``c:<i>`` the i-th to become one, in learning order (append-only)

A display name's record also holds the organisation addresses whose local part spells it
(``jeff.skilling@`` for "jeff skilling", learned from mail without a display name), apart from
the addresses it was written with. Records that learning a message reads but does not change
(the correspondent count, a known conversation or derived name) are dropped from what `apply`
returns, so stores do not write them back.

Times are epoch seconds (UTC). Recent windows are `WINDOW_WEEKS` weekly buckets
``[newest_week, c0, c1, ...]`` (c0 = newest), 13 weeks = 91 days: exact to the week, a fixed 14
integers per counter, and identical whether built online or in batch. Active days use a 63-day
bitmap ``[newest_day, bits]`` to tell a new day from a seen one; a message dated more than 63
days before a sender's newest counts as a new day (history is replayed in time order, so this
only happens for messages that arrive very late).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from mailwarden.baselines.correspondents import NO_CORRESPONDENTS, Correspondents
from mailwarden.baselines.observation import MessageKeys, Observation
from mailwarden.baselines.profiles import (
    CORRESPONDENT_MIN_SAFE_DAYS,
    AddressUse,
    BaselineView,
    DomainProfile,
    PairHistory,
    PaymentUse,
    RecipientProfile,
    SenderProfile,
)

Record = Any  # a JSON-able dict or list
WINDOW_WEEKS = 13
DAY_BITS = 63  # fits a signed 64-bit integer in JSON
_DAY_MASK = (1 << DAY_BITS) - 1
# Caps that keep every record small, whatever the history (first ones kept, the rest counted).
MAX_NAMES = 8  # display names kept per address
MAX_REPLY_TOS = 8  # Reply-To addresses kept per sender
MAX_NAME_ADDRESSES = 16  # addresses kept per display name
MAX_PAYMENTS = 32  # payment fingerprints kept per domain
MAX_DERIVED = 4  # organisation addresses kept per derived name
MID_LEARNED, MID_MALICIOUS = 1, 2  # the value of an ``m:`` record


def a_key(addr: str) -> str:
    return "a:" + addr


def p_key(sender: str, recipient: str) -> str:
    return f"p:{sender} {recipient}"


def d_key(domain: str) -> str:
    return "d:" + domain


def n_key(name: str) -> str:
    return "n:" + name


def pay_key(domain: str) -> str:
    return "$:" + domain


def m_key(message_id: str) -> str:
    return "m:" + message_id


def s_key(subject_hash: str) -> str:
    return "s:" + subject_hash


C_COUNT = "c:"  # how many correspondent domains; c_key(i) the i-th


def c_key(index: int) -> str:
    return f"c:{index}"


def _may_add_correspondent(obs: Observation) -> bool:
    """Learning `obs` can make a domain a correspondent (so it reads the ``c:`` count)."""
    k = obs.keys
    if not k.sender or obs.malicious:
        return False
    if k.sender_internal:
        return not all(k.recipient_internal)
    return obs.verdict == "safe" and k.when is not None


def learn_keys(obs: Observation) -> list[str]:
    k = obs.keys
    keys = [m_key(k.message_id)] if k.message_id else []
    keys += [a_key(r) for r in k.recipients]
    if k.sender:
        keys += [a_key(k.sender), d_key(k.sender_registrable)]
        keys += [p_key(k.sender, r) for r in k.recipients]
        if k.sender_name:
            keys.append(n_key(k.sender_name))
        if obs.payment:
            keys.append(pay_key(k.sender_registrable))
        if k.sender_internal:
            keys += [d_key(d) for d in k.recipient_registrables]
        if not obs.malicious:
            if k.sender_derived_name:
                keys.append(n_key(k.sender_derived_name))
            keys += [s_key(h) for h in k.thread_subjects]
        if _may_add_correspondent(obs):
            keys.append(C_COUNT)
    return list(dict.fromkeys(keys))


def view_keys(k: MessageKeys) -> list[str]:
    """Keys a view reads: a superset of what learning the same message touches, so a store
    that caches reads learns right after a view without another round trip."""
    keys = [m_key(k.message_id)] if k.message_id else []
    keys += [a_key(r) for r in k.recipients]
    if k.sender:
        keys += [a_key(k.sender), d_key(k.sender_registrable), pay_key(k.sender_registrable)]
        for r in k.recipients:
            keys += [p_key(k.sender, r), p_key(r, k.sender)]
        if k.sender_name:
            keys.append(n_key(k.sender_name))
        if k.sender_internal:
            keys += [d_key(d) for d in k.recipient_registrables]
        if k.sender_derived_name:
            keys.append(n_key(k.sender_derived_name))
    keys += [a_key(r) for r in k.reply_to]
    keys += [m_key(ref) for ref in k.thread]
    keys += [s_key(h) for h in k.thread_subjects]
    keys.append(C_COUNT)
    return list(dict.fromkeys(keys))


# --- small statistics -------------------------------------------------------------------------


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def _week(ts: int) -> int:
    return ts // (7 * 86400)


def window_add(window: list[int] | None, week: int) -> list[int]:
    if not window:
        window = [week] + [0] * WINDOW_WEEKS
    newest = window[0]
    if week > newest:
        shift = min(week - newest, WINDOW_WEEKS)
        window = [week, *([0] * shift + window[1:])[:WINDOW_WEEKS]]
        newest = week
    age = newest - week
    if age < WINDOW_WEEKS:
        window[1 + age] += 1
    return window


def window_count(window: list[int] | None, now_week: int | None) -> int:
    """Messages in the `WINDOW_WEEKS` weeks up to `now_week` (the record's newest when None)."""
    if not window:
        return 0
    # Bucket `age` holds week newest - age; keep weeks in (now_week - WINDOW_WEEKS, now_week].
    lead = 0 if now_week is None else window[0] - now_week
    lo, hi = max(0, lead), min(WINDOW_WEEKS, lead + WINDOW_WEEKS)
    return sum(window[1 + lo : 1 + hi]) if lo < hi else 0


def _new_day(rec: dict[str, Any], ts: int, field: str = "dy") -> bool:
    """Mark the UTC day of `ts` active in rec[field]; True when it was not active before."""
    day = ts // 86400
    newest, bits = rec.get(field) or (day, 0)
    if day > newest:
        bits = (bits << min(day - newest, DAY_BITS)) & _DAY_MASK
        newest = day
    age = newest - day
    rec[field] = [newest, bits | (1 << age) if age < DAY_BITS else bits]
    return age >= DAY_BITS or not bits & (1 << age)


def _seen(rec: dict[str, Any], ts: int | None, first: str = "f", last: str = "l") -> None:
    if ts is None:
        return
    if first not in rec or ts < rec[first]:
        rec[first] = ts
    if last not in rec or ts > rec[last]:
        rec[last] = ts


def _inc(rec: dict[str, Any], field: str, by: int = 1) -> int:
    value: int = rec.get(field, 0) + by
    rec[field] = value
    return value


def _use(
    uses: dict[str, list[Any]], value: str, ts: int | None, cap: int, extra: Any = None
) -> bool:
    """Count one use of `value` ([n, first, last(, extra)]); False when the cap dropped it."""
    use = uses.get(value)
    if use is None:
        if len(uses) >= cap:
            return False
        uses[value] = [1, ts, ts] if extra is None else [1, ts, ts, extra]
        return True
    use[0] += 1
    if ts is not None:
        if use[1] is None or ts < use[1]:
            use[1] = ts
        if use[2] is None or ts > use[2]:
            use[2] = ts
    return True


# --- learning ---------------------------------------------------------------------------------


def apply(obs: Observation, records: dict[str, Record]) -> bool:
    """Learn `obs` into `records` (the values of `learn_keys(obs)`, missing ones absent), in
    place. False when its Message-ID was learned before (nothing changes)."""
    if obs.keys.message_id:
        mk = m_key(obs.keys.message_id)
        if mk in records:
            return False
        records[mk] = MID_MALICIOUS if obs.malicious else MID_LEARNED
    k = obs.keys
    ts = _epoch(k.when) if k.when is not None else None
    week = _week(ts) if ts is not None else None
    bad = obs.malicious
    safe = obs.verdict == "safe"
    new_pairs: list[bool] = []
    # Read-mostly records leave `records` and come back only when this message changes them.
    correspondents = [records.pop(C_COUNT, 0)]
    if k.sender:
        sender: dict[str, Any] = records.setdefault(a_key(k.sender), {})
        domain: dict[str, Any] = records.setdefault(d_key(k.sender_registrable), {})
        if bad:
            # Seen but bad: counted apart, never part of the sender's known-good history.
            _inc(sender, "b")
            _inc(domain, "b")
        else:
            new_sender = not sender.get("n")
            _inc(sender, "n")
            _inc(domain, "n")
            if new_sender:
                _inc(domain, "s")
            if ts is not None and week is not None:
                _seen(sender, ts)
                _seen(domain, ts)
                if _new_day(sender, ts):
                    _inc(sender, "ad")
                sender["w"] = window_add(sender.get("w"), week)
                domain["w"] = window_add(domain.get("w"), week)
                if obs.hour is not None:
                    hours = sender.get("h") or [0] * 24
                    hours[obs.hour] += 1
                    sender["h"] = hours
                if safe and not k.sender_internal and _new_day(domain, ts, "sy"):
                    _inc(domain, "sd")
                    if domain["sd"] >= CORRESPONDENT_MIN_SAFE_DAYS:
                        _correspond(records, correspondents, k.sender_registrable, domain)
            if k.sender_name:
                names = sender.setdefault("nm", [])
                if k.sender_name not in names and len(names) < MAX_NAMES:
                    names.append(k.sender_name)
                name_rec: dict[str, Any] = records.setdefault(n_key(k.sender_name), {})
                if not _use(name_rec.setdefault("u", {}), k.sender, ts, MAX_NAME_ADDRESSES):
                    _inc(name_rec, "o")
            if k.sender_derived_name:
                dkey = n_key(k.sender_derived_name)
                derived_rec: dict[str, Any] = records.pop(dkey, None) or {}
                spelled = derived_rec.get("g") or {}
                if k.sender not in spelled and len(spelled) < MAX_DERIVED:
                    spelled[k.sender] = ts
                    derived_rec["g"] = spelled
                    records[dkey] = derived_rec
            for subject in k.thread_subjects:
                skey = s_key(subject)
                if records.pop(skey, None) is None:  # written once: a new conversation
                    records[skey] = 1
            for rt in k.reply_to:
                rts = sender.setdefault("rt", [])
                if rt not in rts and len(rts) < MAX_REPLY_TOS:
                    rts.append(rt)
            if obs.payment:
                pay: dict[str, Any] = records.setdefault(pay_key(k.sender_registrable), {})
                uses = pay.setdefault("u", {})
                for fp in obs.payment:
                    if not _use(uses, fp, ts, MAX_PAYMENTS, k.sender):
                        _inc(pay, "o")
            for recipient in k.recipients:
                pair: list[Any] = records.get(p_key(k.sender, recipient)) or [0, None, None]
                new_pairs.append(pair[0] == 0)
                if pair[0] == 0:
                    _inc(sender, "r")
                pair[0] += 1
                if ts is not None:
                    if pair[1] is None or ts < pair[1]:
                        pair[1] = ts
                    if pair[2] is None or ts > pair[2]:
                        pair[2] = ts
                records[p_key(k.sender, recipient)] = pair
            if k.sender_internal:
                # The organisation wrote to these addresses and domains: they are solicited.
                for recipient, registrable, inside in zip(
                    k.recipients, k.recipient_registrables, k.recipient_internal, strict=True
                ):
                    rec = records.setdefault(a_key(recipient), {})
                    _inc(rec, "so")
                    _seen(rec, ts, "st", "sl")
                    dom = records.setdefault(d_key(registrable), {})
                    _inc(dom, "so")
                    _seen(dom, ts, "st", "sl")
                    if not inside:
                        _correspond(records, correspondents, registrable, dom)
    for index, recipient in enumerate(k.recipients):
        rec = records.setdefault(a_key(recipient), {})
        _inc(rec, "rc")
        if safe:
            _inc(rec, "rs")
        if new_pairs and new_pairs[index]:
            _inc(rec, "rf")
        if week is not None:
            rec["rw"] = window_add(rec.get("rw"), week)
            if safe:
                rec["sw"] = window_add(rec.get("sw"), week)
    return True


def _correspond(
    records: dict[str, Record], count: list[int], domain: str, rec: dict[str, Any]
) -> None:
    """Make `domain` (its record `rec`) a correspondent, appended to the ``c:`` log, once."""
    if rec.get("c") or not domain:
        return
    rec["c"] = 1
    records[c_key(count[0])] = domain
    count[0] += 1
    records[C_COUNT] = count[0]


# --- reading ----------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def _dt(ts: int | None) -> datetime | None:
    # Cached: a view turns the same few timestamps (a busy sender's, a domain's payment and
    # name history) into datetimes again for every message; datetimes are immutable.
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


def sender_profile(addr: str, rec: dict[str, Any] | None, now_week: int | None) -> SenderProfile:
    if not rec:
        return SenderProfile(addr)
    return SenderProfile(
        address=addr,
        messages=rec.get("n", 0),
        messages_recent=window_count(rec.get("w"), now_week),
        malicious=rec.get("b", 0),
        first_seen=_dt(rec.get("f")),
        last_seen=_dt(rec.get("l")),
        active_days=rec.get("ad", 0),
        distinct_recipients=rec.get("r", 0),
        solicited=rec.get("so", 0),
        first_solicited=_dt(rec.get("st")),
        names=tuple(rec.get("nm", ())),
        reply_tos=tuple(rec.get("rt", ())),
        hours=tuple(rec.get("h", ())),
    )


def domain_profile(domain: str, rec: dict[str, Any] | None, now_week: int | None) -> DomainProfile:
    if not rec:
        return DomainProfile(domain)
    return DomainProfile(
        domain=domain,
        messages=rec.get("n", 0),
        messages_recent=window_count(rec.get("w"), now_week),
        malicious=rec.get("b", 0),
        first_seen=_dt(rec.get("f")),
        last_seen=_dt(rec.get("l")),
        distinct_senders=rec.get("s", 0),
        solicited=rec.get("so", 0),
        first_solicited=_dt(rec.get("st")),
        safe_days=rec.get("sd", 0),
        correspondent=bool(rec.get("c")),
    )


def recipient_profile(
    addr: str,
    rec: dict[str, Any] | None,
    now_week: int | None,
    roles: tuple[str, ...],
    internal: bool,
) -> RecipientProfile:
    if not rec:
        return RecipientProfile(addr, roles=roles, internal=internal)
    return RecipientProfile(
        address=addr,
        received=rec.get("rc", 0),
        received_recent=window_count(rec.get("rw"), now_week),
        safe=rec.get("rs", 0),
        safe_recent=window_count(rec.get("sw"), now_week),
        first_contact=rec.get("rf", 0),
        roles=roles,
        internal=internal,
        sent=rec.get("n", 0),
        first_sent=_dt(rec.get("f")),
    )


def pair_history(
    sender: str, recipient: str, rec: list[Any] | None, back: list[Any] | None
) -> PairHistory:
    replies = back[0] if back else 0
    if not rec:
        return PairHistory(sender, recipient, replies=replies)
    return PairHistory(sender, recipient, rec[0], _dt(rec[1]), _dt(rec[2]), replies)


def _thread_known(k: MessageKeys, get: Any) -> bool | None:
    if k.thread:  # Message-IDs say which thread: they decide
        return any(get(m_key(ref)) == MID_LEARNED for ref in k.thread)
    if k.claims_reply and k.thread_subjects:  # RE:/FW: alone: that subject with that party
        return any(get(s_key(h)) is not None for h in k.thread_subjects)
    return None  # claims no thread; or a RE:/FW: subject alone inside the organisation


def build_view(
    k: MessageKeys,
    records: Mapping[str, Record],
    correspondents: Correspondents = NO_CORRESPONDENTS,
) -> BaselineView:
    """The view of one message from the records of `view_keys(k)` (missing ones absent), with
    the store's correspondents as they stand."""
    now_week = _week(_epoch(k.when)) if k.when is not None else None
    get = records.get
    learned = bool(k.message_id) and get(m_key(k.message_id)) is not None
    recipients = tuple(
        recipient_profile(r, get(a_key(r)), now_week, roles, internal)
        for r, roles, internal in zip(
            k.recipients, k.recipient_roles, k.recipient_internal, strict=True
        )
    )
    reply_to = tuple(sender_profile(rt, get(a_key(rt)), now_week) for rt in k.reply_to)
    thread_known = _thread_known(k, get)
    if not k.sender:
        return BaselineView(
            SenderProfile(""),
            DomainProfile(""),
            recipients=recipients,
            reply_to=reply_to,
            now=k.when,
            thread_known=thread_known,
            correspondents=correspondents,
        )
    name_uses: tuple[AddressUse, ...] = ()
    overflow = 0
    if k.sender_name:
        name_rec = get(n_key(k.sender_name))
        if name_rec:
            written = name_rec.get("u") or {}
            name_uses = tuple(
                AddressUse(addr, u[0], _dt(u[1]), _dt(u[2])) for addr, u in written.items()
            )
            spelled = name_rec.get("g")
            if spelled:
                name_uses += tuple(
                    AddressUse(addr, 0, _dt(first), None, derived=True)
                    for addr, first in spelled.items()
                    if addr not in written
                )
            overflow = name_rec.get("o", 0)
    payments: tuple[PaymentUse, ...] = ()
    pay = get(pay_key(k.sender_registrable))
    if pay:
        payments = tuple(
            PaymentUse(fp, u[0], _dt(u[1]), _dt(u[2]), u[3]) for fp, u in pay["u"].items()
        )
    return BaselineView(
        sender=sender_profile(k.sender, get(a_key(k.sender)), now_week),
        sender_domain=domain_profile(
            k.sender_registrable, get(d_key(k.sender_registrable)), now_week
        ),
        pairs=tuple(
            pair_history(k.sender, r, get(p_key(k.sender, r)), get(p_key(r, k.sender)))
            for r in k.recipients
        ),
        recipients=recipients,
        name_addresses=name_uses,
        name_overflow=overflow,
        reply_to=reply_to,
        payments=payments,
        now=k.when,
        already_learned=learned,
        thread_known=thread_known,
        correspondents=correspondents,
    )
