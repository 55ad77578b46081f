"""The training dataset builder: neutralisation, schema, splits, the fingerprint check, the CLI.

Most tests run on small hand-written messages in the style of each corpus (and on a tiny corpus
folder built from them), so they need no shared data; the fingerprint check on the real corpora
is skipped when ../shared/data is absent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import sys
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from mailwarden.cli import EXIT_USAGE, main
from mailwarden.corpora import data_dir
from mailwarden.parse import parse
from mailwarden.tenant import Tenant
from mailwarden.training.check import corpus_fingerprint_check, fingerprint_check
from mailwarden.training.dataset import (
    MissingDependency,
    build_dataset,
    require_pyarrow,
)
from mailwarden.training.fingerprints import Neutralizer, fingerprint_tokens
from mailwarden.training.schema import (
    FeatureSchema,
    FeatureSchemaMismatch,
    check_compatible,
    dataset_metadata,
    dataset_schema,
)
from mailwarden.training.splits import SplitRow, source_split, time_cutoffs, time_split

TENANT = Tenant(id="acme", domains=("acme.com",))
MAILBOXES = ("jane.doe@acme.com", "john.roe@acme.com", "mary.major@acme.com")
neutralize = Neutralizer("acme.com", MAILBOXES)


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


# --- one message in the style of each corpus --------------------------------------------------

PHISHING_POT = crlf(
    """Received: from AB1PR01MB0001.namprd01.prod.outlook.com (::1) by
 CD2PR02MB0002.namprd02.prod.outlook.com with HTTPS; Tue, 15 Aug 2023 07:13:02 +0000
Received: from mail.offers-mail.shop (91.203.44.17) by
 EF3NAM03FT003.mail.protection.outlook.com (10.13.1.3) with Microsoft SMTP
 Server id 15.20.1000.1 via Frontend Transport; Tue, 15 Aug 2023 07:13:01 +0000
Authentication-Results: spf=pass (sender IP is 91.203.44.17)
 smtp.mailfrom=offers-mail.shop; dkim=none (message not signed)
 header.d=none;dmarc=fail action=none header.from=microsoft.com;compauth=fail reason=001
Received-SPF: Pass (protection.outlook.com: domain of offers-mail.shop designates
 91.203.44.17 as permitted sender) receiver=protection.outlook.com;
X-IncomingTopHeaderMarker: OriginalChecksum:ABC123;Count:11
Message-Id: <q7Lx2.5521.77+=phishing@pot@offers-mail.shop>
From: Microsoft 365 <phishing@pot>
Subject: Password for phishing@pot expires today
To: phishing@pot
Date: Tue, 15 Aug 2023 09:12:00 +0200
Content-Type: text/html; charset=UTF-8
X-IncomingHeaderCount: 11
Return-Path: return@offers-mail.shop
X-MS-Exchange-Organization-ExpirationStartTime: 15 Aug 2023 07:13:01.1000
X-EOPAttributedMessage: 0
X-EOPTenantAttributedMessage: 00000000-1111-2222-3333-444444444444:0
X-MS-PublicTrafficType: Email
X-Microsoft-Antispam: BCL:0;
X-SID-PRA: NEWS@OFFERS-MAIL.SHOP
X-SID-Result: FAIL
X-Sender-IP: 91.203.44.17
MIME-Version: 1.0

<html><body>Your mailbox phishing@pot will be closed.
<a href="http://offers-mail.shop/login">Keep my password</a></body></html>
"""
)

NAZARIO = b"""From MAILER-DAEMON Mon Nov 14 00:00:00 2005
Return-Path: <accounts@ebay.com>
X-Original-To: username@domain.com
Delivered-To: username@login.domain.com
Received: from host.example.net (unknown [200.1.2.3])
\tby login.domain.com (Postfix) with SMTP id 1
\tfor <username@domain.com>; Mon, 20 Jun 2005 11:05:40 +0100 (BST)
Message-ID: <KQZPTRMWXBAYOEHUVL@yahoo.com>
From: "eBay" <accounts@ebay.com>
To: username@domain.com
Subject: Verify your eBay account
Date: Mon, 20 Jun 2005 11:05:40 +0100
X-Mailer: Microsoft Outlook Express 6.00.2600.0000
X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2600.0000
Status: O
X-Status:
X-Keywords:
X-UID: 1

Dear username@domain.com, please verify your account at http://ebay.verify-id.example.net/
"""

SPAMASSASSIN = b"""Return-Path: <talk-admin@lists.example.org>
Delivered-To: yyyy@localhost.netnoteinc.com
Received: from relay (relay [127.0.0.1])
\tby mail.netnoteinc.com (Postfix) with ESMTP id 1
\tfor <jm@localhost>; Fri, 23 Aug 2002 09:01:02 -0400 (EDT)
Received: from lists.example.org (lists.example.org [64.0.2.15]) by mx.example.net
    for <zzzz@spamassassin.taint.org>; Fri, 23 Aug 2002 14:01:01 +0100
From: Rob Smith <rob@example.org>
To: zzzz@spamassassin.taint.org
Subject: Re: the meeting
Date: Fri, 23 Aug 2002 20:00:59 +0700
Message-ID: <4471.1030099999@mail.example.org>
X-Spam-Status: No, hits=-3.0 required=7.0
X-Spam-Level:
X-Spam-Checker-Version: SpamAssassin 2.40
X-Loop: talk@lists.example.org

See you there. Mail yyyy@spamassassin.taint.org if it moves.
"""

CSDMC = b"""Return-Path: <someone@csmining.org>
Delivered-To: mlsubscriber.tech@csmining.org
Received: from mail.example.org (mail.example.org [193.0.2.70])
\tby csmining.org with ESMTP; Tue, 01 Jun 2010 10:10:10 +0300
X-Mozilla-Status: 0001
X-Mozilla-Status2: 00000000
X-Account-Key: account5
X-UIDL: GmailId0000aa
From: Dan Ionescu <dan@example.org>
To: mlsubscriber.tech@csmining.org
Subject: kernel question
Date: Tue, 01 Jun 2010 10:10:10 +0300
Message-ID: <20100601101010.GA1234@laptop.home>
User-Agent: Mutt/1.5.20 (2009-06-14)

Has anyone tried the new kernel?
"""

USRP = b"""Return-Path: <usrp-users-bounces@lists.ettus.com>
X-Original-To: lists+usrp-users@lfdr.de
Delivered-To: lists+usrp-users@lfdr.de
Received: from mm1.listhost.net (mm1.listhost.net [172.105.9.9])
\tby mail.lfdr.de (Postfix) with ESMTPS id 00A0AAA01
\tfor <lists+usrp-users@lfdr.de>; Wed, 08 May 2019 10:00:02 +0200 (CEST)
Received: from mail-xx1-f10.google.com ([209.85.1.10]:40000)
 by mm1.listhost.net with esmtps (Exim 4.91)
 for usrp-users@lists.ettus.com; Wed, 08 May 2019 04:00:01 -0400
Message-ID: <7AB01C22.4040101@gmail.com>
Date: Wed, 08 May 2019 03:59:59 -0400
From: Alex Kim <alex.kim.radio@gmail.com>
To: usrp-users@lists.ettus.com
Subject: Re: [USRP-users] B210 sample rate
X-BeenThere: usrp-users@lists.ettus.com
X-Mailman-Version: 2.1.27
Precedence: list
List-Id: USRP-related discussion and support <usrp-users.lists.ettus.com>
List-Unsubscribe: <http://lists.ettus.com/mailman/options/usrp-users_lists.ettus.com>
List-Archive: <http://lists.ettus.com/pipermail/usrp-users_lists.ettus.com/>
List-Post: <mailto:usrp-users@lists.ettus.com>
List-Help: <mailto:usrp-users-request@lists.ettus.com?subject=help>
Errors-To: usrp-users-bounces@lists.ettus.com
Sender: "USRP-users" <usrp-users-bounces@lists.ettus.com>
Content-Type: text/plain; charset="us-ascii"

Try a lower master clock rate.

_______________________________________________
USRP-users mailing list
USRP-users@lists.ettus.com
http://lists.ettus.com/mailman/listinfo/usrp-users_lists.ettus.com
"""

ENRON = crlf(
    """Message-ID: <11112222.1075840000000.JavaMail.evans@thyme>
Date: Tue, 12 Dec 2000 08:15:00 -0800 (PST)
From: pat.rivera@acme.com
To: jane.doe@acme.com
Bcc: john.roe@acme.com
Subject: Conference schedule
Mime-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit
X-From: Rivera, Pat </O=ENRON/OU=NA/CN=RECIPIENTS/CN=PRIVERA>
X-To: Jane Doe
X-cc:
X-bcc:
X-Folder: \\Jane_Doe_Dec2000\\Notes Folders\\2000 conference
X-Origin: Doe-J
X-FileName: jdoe.nsf

The conference schedule is attached.
"""
)

SAMPLES = {
    "phishing_pot": PHISHING_POT,
    "nazario": NAZARIO,
    "spamassassin": SPAMASSASSIN,
    "csdmc2010": CSDMC,
    "usrp_list": USRP,
    "enron": ENRON,
}
# What each source leaves behind, and must not survive neutralisation.
FINGERPRINTS = {
    "phishing_pot": [
        b"phishing@pot",
        b"X-MS-",
        b"X-Microsoft",
        b"X-SID-",
        b"X-EOP",
        b"X-Incoming",
        b"X-Sender-IP",
        b"compauth",
        b"outlook.com",
        b"\r\n",
    ],
    "nazario": [b"domain.com", b"X-Keywords", b"Status:", b"X-UID", b"X-Mailer", b"MimeOLE"],
    "spamassassin": [b"taint.org", b"zzzz@", b"yyyy@", b"X-Spam-", b"netnoteinc", b"X-Loop"],
    "csdmc2010": [b"csmining.org", b"X-Mozilla", b"X-Account-Key", b"X-UIDL", b"Mutt"],
    "usrp_list": [
        b"[USRP-users]",
        b"lfdr.de",
        b"X-Mailman",
        b"X-BeenThere",
        b"List-Post",
        b"List-Archive",
        b"List-Help",
        b"Errors-To",
        b"mailing list",
        b"listinfo",
    ],
    "enron": [b"X-Folder", b"X-From", b"X-To", b"X-FileName", b"X-Origin", b"thyme", b"Bcc", b"\r"],
}


@pytest.mark.parametrize("source", sorted(SAMPLES))
def test_neutralisation_removes_every_fingerprint_of_the_source(source: str) -> None:
    clean = neutralize(SAMPLES[source], key="k")
    for mark in FINGERPRINTS[source]:
        assert mark not in clean, f"{source}: {mark!r} survived"
    message = parse(clean)
    assert message.defects == () or "no-date" not in message.defects
    assert message.from_ is not None
    # One gateway hop, every message: the collectors' relay chains are gone.
    assert len(message.received) == 1
    assert message.received[0].by_host == "mx.acme.com"
    assert message.return_path


@pytest.mark.parametrize("source", sorted(SAMPLES))
def test_neutralisation_keeps_what_the_engine_reads(source: str) -> None:
    before, after = parse(SAMPLES[source]), parse(neutralize(SAMPLES[source], key="k"))
    assert after.subject.replace("[USRP-users] ", "") == after.subject
    assert after.date == before.date
    assert after.originating_ip == before.originating_ip
    assert after.body_text.strip().split()[:3] == before.body_text.strip().split()[:3] or (
        b"phishing@pot" in SAMPLES[source] or b"domain.com" in SAMPLES[source]
    )
    for method in ("spf", "dkim", "dmarc"):
        assert after.auth_result(method) == before.auth_result(method)
    assert after.auth_result("compauth") == ""
    assert bool(after.in_reply_to) == bool(before.in_reply_to)
    assert [a.addr for a in after.reply_to] == [a.addr for a in before.reply_to]


def test_collector_addresses_become_one_tenant_mailbox_per_address() -> None:
    clean = neutralize(PHISHING_POT, key="k")
    message = parse(clean)
    assert message.to[0].addr in MAILBOXES
    # The honeypot's self-addressed lure stays self-addressed, in the body too.
    assert message.from_ is not None and message.from_.addr == message.to[0].addr
    assert message.to[0].addr.encode() in clean.split(b"\n\n", 1)[1]
    # Reproducible, and spread over mailboxes by message.
    assert neutralize(PHISHING_POT, key="k") == clean
    chosen = {parse(neutralize(PHISHING_POT, key=str(i))).to[0].addr for i in range(30)}
    assert len(chosen) > 1


def test_enron_export_marks_are_undone() -> None:
    message = parse(neutralize(ENRON, key="k"))
    assert message.from_ is not None
    assert message.from_.name == "Rivera, Pat"
    assert message.return_path == "pat.rivera@acme.com"
    assert message.message_id.endswith("@acme.com")
    assert message.cc == () and not message.header("bcc")


def test_message_ids_hash_consistently_so_threads_still_link() -> None:
    reply = b"From: a@x.org\nTo: b@acme.com\nSubject: Re: hi\nIn-Reply-To: <1@x.org>\n\nok\n"
    original = b"From: b@acme.com\nTo: a@x.org\nSubject: hi\nMessage-ID: <1@x.org>\n\nhi\n"
    assert parse(neutralize(reply)).in_reply_to == parse(neutralize(original)).message_id
    assert parse(neutralize(original)).message_id != "1@x.org"


def test_replay_date_is_written_and_auth_can_be_dropped() -> None:
    when = datetime(2001, 5, 4, 9, 30, tzinfo=UTC)
    message = parse(Neutralizer("acme.com", MAILBOXES, keep_auth=False)(PHISHING_POT, date=when))
    assert message.date == when
    assert message.auth == ()


def test_neutralisation_never_raises_and_is_deterministic() -> None:
    for raw in (b"", b"\x00\xff\xfe", b"no header block at all", b"From: \n\n", b"\r\n\r\nbody"):
        neutralize(raw)
    bad_name = ENRON.replace(b"Rivera, Pat", b"Ri\xe9\x9bvera")
    assert b"X-From" not in neutralize(bad_name)
    for raw in SAMPLES.values():
        assert neutralize(raw, key="k") == neutralize(raw, key="k")


def test_fingerprint_tokens_see_the_collector_traces() -> None:
    tokens = fingerprint_tokens(PHISHING_POT, TENANT.domains)
    assert {"eol=crlf", "hdr=x-eopattributedmessage", "rcpt=external"} <= tokens
    clean = fingerprint_tokens(neutralize(PHISHING_POT), TENANT.domains)
    assert {"eol=lf", "rcpt=tenant", "hops=1"} <= clean
    assert not any(t.startswith("hdr=x-") for t in clean)


# --- the check, on messages that differ only by their source's marks ----------------------


def _variants(template: bytes, n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    words = ["invoice", "meeting", "report", "lunch", "budget", "travel", "review", "plan"]
    out = []
    for i in range(n):
        subject = " ".join(rng.sample(words, 3))
        reply = rng.random() < 0.5
        head = f"Subject: {'Re: ' if reply else ''}{subject} {i}\n"
        if reply:
            head += f"In-Reply-To: <{rng.getrandbits(40)}@x.org>\n"
        out.append(template.replace(b"Subject: x\n", head.encode()))
    return out


def test_fingerprint_check_separates_before_and_not_after() -> None:
    body = b"From: Ann Lee <ann@partner.org>\nSubject: x\nDate: Mon, 2 Apr 2001 10:00:00 +0000\n"
    source_a = body + b"To: zzzz@spamassassin.taint.org\nX-Spam-Status: No\n\nhello\n"
    source_b = body + b"To: phishing@pot\nX-MS-Exchange-Organization-SCL: 1\n\nhello\n"
    samples = [("a", r) for r in _variants(source_a, 150, 1)]
    samples += [("b", r.replace(b"\n", b"\r\n")) for r in _variants(source_b, 150, 2)]
    report = fingerprint_check(samples, lambda raw: neutralize(raw), tenant_domains=["acme.com"])
    assert report.before.accuracy > 0.95
    assert report.after.accuracy < 0.7  # chance is 0.5
    assert report.traces_after.accuracy < 0.7
    assert "before neutralisation" in "\n".join(report.lines())


# --- splits -------------------------------------------------------------------------------------


def _split_rows(seed: int = 3) -> list[SplitRow]:
    rng = random.Random(seed)
    start = datetime(2001, 1, 1, tzinfo=UTC)
    rows = []
    for corpus, era in (("enron", 0), ("phishing_pot", 8000)):
        for i in range(200):
            date = start + timedelta(days=era + rng.randrange(900))
            rows.append(SplitRow(corpus, date, f"{corpus}/{i}"))
    # Copies: a late message copied early, and one copied into another corpus.
    rows.append(SplitRow("enron", start, rows[-1].group.replace("phishing_pot", "enron")))
    rows.append(SplitRow("phishing_pot", rows[5].date, rows[5].group))
    rows.append(SplitRow("enron", None, "undated/1"))
    return rows


def test_time_split_holds_out_each_sources_newest_and_keeps_copies_together() -> None:
    rows = _split_rows()
    split = time_split(rows, test_share=0.2)
    cutoffs = time_cutoffs(rows, test_share=0.2)
    sides: dict[str, set[str]] = {}
    for row, side in zip(rows, split, strict=True):
        sides.setdefault(row.group, set()).add(side)
    assert all(len(s) == 1 for s in sides.values())
    early_groups = {r.group for r in rows if r.date is None or r.date <= cutoffs[r.corpus]}
    for row, side in zip(rows, split, strict=True):
        if side == "test":
            assert row.date is not None and row.date > cutoffs[row.corpus]
        else:
            assert row.group in early_groups
    for corpus in ("enron", "phishing_pot"):
        sides_of = [s for r, s in zip(rows, split, strict=True) if r.corpus == corpus]
        assert 0.1 < sides_of.count("test") / len(sides_of) < 0.3
    # The late phishing message copied early into enron trains, with its copy.
    assert split[199 + 200] == "train" and split[-3] == "train"
    assert split[-1] == "train"  # undated
    shuffled = list(zip(rows, split, strict=True))
    random.Random(9).shuffle(shuffled)
    assert time_split([r for r, _ in shuffled], test_share=0.2) == [s for _, s in shuffled]


def test_source_split_tests_on_held_out_sources_only() -> None:
    rows = _split_rows()
    split = source_split(rows, {"phishing_pot"})
    for row, side in zip(rows, split, strict=True):
        if row.corpus == "phishing_pot":
            assert side == "test"
        else:
            assert side in ("train", "excluded")
    held_groups = {r.group for r in rows if r.corpus == "phishing_pot"}
    excluded = [r for r, s in zip(rows, split, strict=True) if s == "excluded"]
    assert excluded and all(r.group in held_groups for r in excluded)


# --- schema -------------------------------------------------------------------------------------


def test_feature_schema_is_every_numeric_signal_and_detects_changes() -> None:
    from mailwarden.signals import discover

    schema = FeatureSchema.current()
    numeric = {n for n, s in discover().items() if s.type in (bool, int, float)}
    assert set(schema.names) == numeric
    assert FeatureSchema.current().hash == schema.hash
    assert FeatureSchema.from_dict(schema.to_dict()) == schema
    changed = FeatureSchema(schema.version, (*schema.features[1:], ("message.new_thing", "int")))
    check_compatible(schema, schema)
    with pytest.raises(FeatureSchemaMismatch, match=r"missing .*unexpected message.new_thing"):
        check_compatible(schema, changed)
    tampered = {**schema.to_dict(), "hash": "0" * 16}
    with pytest.raises(FeatureSchemaMismatch):
        FeatureSchema.from_dict(tampered)


# --- the build, on a tiny corpus folder ---------------------------------------------------------


def _corpus(root: Path, name: str, messages: list[tuple[str, str, bytes, str, str]]) -> None:
    """Write corpora/<name>.tar.xz + .csv from (path, label, raw, iso date, duplicate_of)."""
    folder = root / "corpora"
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / f"{name}.tar.xz", "w:xz") as archive:
        for path, _, raw, _, _ in messages:
            info = tarfile.TarInfo(path)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    with (folder / f"{name}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["path", "label", "source_label", "message_id", "date", "from_addr", "sha256",
             "duplicate_of"]
        )  # fmt: skip
        for path, label, raw, date, dup in messages:
            sha = hashlib.sha256(raw).hexdigest()
            writer.writerow([path, label, label, "", date, "", sha, dup])


def _dated(raw: bytes, when: datetime) -> bytes:
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    stamp = when.strftime("%a, %d %b %Y %H:%M:%S +0000").encode()
    return b"\n".join(b"Date: " + stamp if line.startswith(b"Date:") else line for line in lines)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    start = datetime(2000, 6, 1, 9, tzinfo=UTC)
    enron, pot, usrp = [], [], []
    for i in range(24):
        when = start + timedelta(days=7 * i)
        enron.append((f"enron/m/{i}.eml", "ham", _dated(ENRON, when), when.isoformat(), ""))
        pwhen = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=9 * i)
        raw = _dated(PHISHING_POT, pwhen).replace(b"expires today", f"expires in {i}h".encode())
        pot.append((f"phishing_pot/email/sample-{i}.eml", "malicious", raw, pwhen.isoformat(), ""))
        uwhen = datetime(2019, 5, 1, tzinfo=UTC) + timedelta(days=20 * i)
        usrp.append((f"usrp_list/eml/{i}.eml", "ham", _dated(USRP, uwhen), uwhen.isoformat(), ""))
    # A copy of one enron message inside usrp_list, and one message with an impossible date.
    usrp.append(("usrp_list/eml/copy.eml", "ham", enron[3][2], enron[3][3], enron[3][0]))
    enron.append(
        (
            "enron/m/undated.eml",
            "ham",
            ENRON.replace(b"Tue, 12 Dec 2000", b"Tue, 12 Dec 0102"),
            "",
            "",
        )
    )
    _corpus(root, "enron", enron)
    _corpus(root, "phishing_pot", pot)
    _corpus(root, "usrp_list", usrp)
    return root


@pytest.fixture(scope="module")
def built(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "train.parquet"
    tenant = Tenant(id="acme", domains=("acme.com",))
    build_dataset(out, tiny_data, ("enron", "phishing_pot", "usrp_list"), bec=12, tenant=tenant)
    return out


def test_dataset_rows_have_the_schema(built: Path) -> None:
    table = pq.read_table(built)
    schema = FeatureSchema.current()
    assert dataset_schema(str(built)) == schema
    meta = dataset_metadata(str(built))
    assert meta["feature_schema"]["hash"] == schema.hash and meta["neutralised"] is True
    for name in schema.names:
        assert name in table.column_names
    required = {"sha256", "corpus", "label", "category", "text", "date", "replay_date",
                "duplicate_group", "split_time"}  # fmt: skip
    assert required <= set(table.column_names)
    rows = table.to_pylist()
    assert len(rows) == 24 * 3 + 2 + 12
    assert {r["corpus"] for r in rows} == {"enron", "phishing_pot", "usrp_list", "bec_synth"}
    assert {r["category"] for r in rows} <= {
        "safe", "spam", "credential_phishing", "bec", "malware", "scam"
    }  # fmt: skip
    for row in rows:
        assert row["label"] in ("ham", "spam", "malicious")
        assert len(row["text"]) <= 4000
        assert "phishing@pot" not in row["text"] and "[USRP-users]" not in row["text"]
        assert (row["category"] == "safe") == (row["label"] == "ham")
    pot = [r for r in rows if r["corpus"] == "phishing_pot"]
    assert all(r["category"] == "credential_phishing" for r in pot)
    # Foreign mail is replayed inside the tenant's timeline, in its own order.
    enron_dates = [r["replay_date"] for r in rows if r["corpus"] == "enron" and r["replay_date"]]
    for r in pot:  # on a tenant day, at the message's own time of day
        assert min(enron_dates).date() <= r["replay_date"].date() <= max(enron_dates).date()
        assert r["replay_date"].time() == r["date"].time()
    order = sorted(pot, key=lambda r: r["date"])
    assert [r["replay_date"] for r in order] == sorted(r["replay_date"] for r in pot)


def test_dataset_split_keeps_copies_together_and_holds_out_the_newest(built: Path) -> None:
    rows = pq.read_table(built, columns=["corpus", "date", "duplicate_group", "split_time"])
    data = rows.to_pylist()
    by_group: dict[str, set[str]] = {}
    for r in data:
        by_group.setdefault(r["duplicate_group"], set()).add(r["split_time"])
    assert all(len(s) == 1 for s in by_group.values())
    for corpus in ("enron", "phishing_pot", "usrp_list"):
        own = [r for r in data if r["corpus"] == corpus and r["date"] is not None]
        test = [r["date"] for r in own if r["split_time"] == "test"]
        train = [r["date"] for r in own if r["split_time"] == "train"]
        assert test and min(test) > max(train)
    assert [r["split_time"] for r in data if r["date"] is None] == ["train"]


def test_cli_builds_a_dataset_and_runs_the_check(tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.parquet"
    result = CliRunner().invoke(
        main,
        ["dataset", "build", str(out), "--data", str(tiny_data), "--corpora",
         "enron,phishing_pot", "--limit", "10", "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote 20 rows" in result.output
    assert pq.read_table(out).num_rows == 20
    result = CliRunner().invoke(
        main,
        ["dataset", "check", "--data", str(tiny_data), "--corpora", "enron,phishing_pot,usrp_list",
         "--per-corpus", "20"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "before neutralisation" in result.output
    bad = CliRunner().invoke(main, ["dataset", "build", str(out), "--corpora", "nope"])
    assert bad.exit_code == EXIT_USAGE


def test_without_pyarrow_the_build_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tiny_data: Path, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependency, match=r"mailwarden\[train\]"):
        require_pyarrow()
    result = CliRunner().invoke(
        main, ["dataset", "build", str(tmp_path / "x.parquet"), "--data", str(tiny_data)]
    )
    assert result.exit_code == EXIT_USAGE
    assert "pip install" in result.output


# --- on the real corpora ------------------------------------------------------------------------

ROOT = data_dir()


@pytest.mark.skipif(ROOT is None, reason="../shared/data/corpora not present")
def test_fingerprint_check_on_the_corpora_drops_towards_chance() -> None:
    assert ROOT is not None
    report = corpus_fingerprint_check(ROOT, per_corpus=250)
    print("\n".join(report.lines()))
    assert report.before.accuracy > 0.85
    assert report.after.accuracy < report.before.accuracy - 0.05
    assert report.traces_after.accuracy < report.traces_before.accuracy - 0.3
    assert report.traces_after.accuracy < 0.6
