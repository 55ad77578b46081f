"""Content signals: what the subject and the top of the body ask for or threaten.

Each family is one precompiled regex searched near its anchor words (see `signals._text`), over
the lower-cased subject and first 8,000 characters of visible body. English first, with the
commonest Portuguese, Spanish and German wording for the families phishing uses most. A family
fires on a request or a threat, not on a topic word: "payment" alone is not a payment request.
"""

from __future__ import annotations

import re

from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal
from mailwarden.signals._text import Phrases, gap, scan

_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri"
_PLEASE = (
    r"(?:please|pls|plz|kindly|can you|could you|would you|will you|i need you to|need you to|"
    r"i want you to|you need to|you must|we need you to|i would like you to|help me|"
    r"i'd like you to|ensure you|make sure you|be sure to)"
)

URGENCY = Phrases(
    "urgent urgently urgency immediately immediate asap soon within today right final act "
    "expire expires expired expiring expiration deadline last time promptly delay late now "
    "quickly hurry limited urgente imediatamente hoje prazo último ultimo inmediatamente hoy "
    "dringend sofort umgehend",
    r"urgent(?:ly)?",
    r"urgency",
    r"immediately",
    r"immediate (?:action|attention|response|payment|reply)",
    r"asap",
    r"as soon as possible",
    r"within (?:the next )?(?:\d{1,2}|twenty[- ]?four|forty[- ]?eight|seventy[- ]?two|one|two|"
    r"three) ?(?:hours?|hrs?|days?|business days?)",
    r"today",
    r"right away",
    r"final (?:notice|warning|reminder|request|attempt)",
    r"act (?:now|fast|quickly|immediately)",
    r"expir(?:e|es|ed|ing|ation)",
    r"deadline",
    r"last (?:chance|warning|reminder|notice)",
    r"time[- ]sensitive",
    r"promptly",
    r"without (?:any )?delay",
    r"before it'?s too late",
    r"(?:respond|reply|act|verify|update|confirm) (?:now|quickly|immediately)",
    r"(?:hurry|quickly)",
    r"limited time",
    r"urgente",
    r"imediatamente",
    r"hoje",
    r"prazo",
    r"[úu]ltimo aviso",
    r"inmediatamente",
    r"hoy",
    r"dringend",
    r"sofort",
    r"umgehend",
)


@signal("message.urgency", int)
def urgency(m: Message, ctx: Context) -> int:
    """Number of distinct urgency phrases (urgent, immediately, within 24 hours, ...)."""
    return URGENCY.distinct(m)


PAYMENT_REQUEST = Phrases(
    "pay paying payment payments wire transfer remit remittance settle settlement process "
    "deposit escrow money usd eur gbp "
    "send make release invoice invoices balance amount due funds sum clear bill debt dues "
    "pagamento pague pagar boleto "
    "pago efectuar realizar zahlen überweisen",
    # a request, then a paying verb, then what to pay
    _PLEASE
    + " "
    + gap(3)
    + r"(?:make|process|send|arrange|effect|initiate|complete|release|execute|handle|settle|"
    r"clear|remit|wire|transfer|approve) "
    + gap(4)
    + r"(?:payments?|wire|wire transfer|transfer|remittance|funds|the amount|the balance|"
    r"invoices?|the sum)",
    _PLEASE + " " + gap(2) + r"pay (?:the|this|that|our|an|my|your|it|them|us|\$|usd|eur|€|£)",
    r"(?:pay|settle|clear|remit) (?:the|this|that|your|our|an|all) (?:outstanding|overdue|"
    r"attached|pending|unpaid|open|due|past due|remaining|full)? ?(?:invoices?|balances?|"
    r"amounts?|bills?|debts?|payments?|sum|dues)",
    r"payment (?:should|must|needs to|has to|is to|shall) be (?:made|sent|wired|remitted|"
    r"processed|effected|transferred|completed)",
    r"(?:send|wire|transfer|remit) (?:the|a|an|this)? ?(?:payment|funds|money) (?:today|now|"
    r"immediately|asap|to (?:the|our|this|my) (?:new )?(?:account|bank))",
    r"(?:waiting|awaiting) (?:for )?(?:your|the) (?:payment|remittance|transfer)",
    r"(?:kindly|please) (?:remit|settle)",
    r"(?:make|process|release|complete) (?:the|a|an|this)? ?(?:urgent|quick|immediate) "
    r"(?:payment|wire|transfer)",
    # Portuguese / Spanish / German
    r"(?:efetu(?:e|ar)|realiz(?:e|ar)|fa[çc]a) o pagamento",
    r"pague (?:o|a|seu|sua|agora|hoje)",
    r"pagar (?:o|a|seu|sua) (?:boleto|fatura|d[ée]bito|valor)",
    r"(?:efect[úu]e|realice|efectuar|realizar) el pago",
    r"(?:überweisen|zahlen) sie",
)


@signal("message.payment_request", bool)
def payment_request(m: Message, ctx: Context) -> bool:
    """Asks the reader to make a payment, transfer or wire, or to pay an outstanding amount."""
    return PAYMENT_REQUEST.found(m)


WIRE_TRANSFER = Phrases(
    "wire wired wiring transfer transfers swift iban routing aba ach telegraphic bic "
    "transferência transferencia transferencias pix ted überweisung",
    r"wire(?:d)? transfers?",
    r"bank transfers?",
    r"wir(?:e|ed|ing) (?:the |of )?(?:funds|money|payment|amount|sum)",
    r"wir(?:e|ing) (?:it|them) (?:to|today|now)",
    r"wire (?:the|this|that|a|an|our|my) (?:\w+ ){0,2}(?:deposit|payment|funds|amount|sum|money|"
    r"balance|escrow|fee|invoice)",
    r"(?:international|overseas|same[- ]day|urgent) (?:wire|transfer|bank transfer)",
    r"(?:process|send|make|do|initiate|release|set up) (?:a|an|the|this|one) (?:\w+ )?wire\b",
    r"wire (?:of|for) (?:\$|usd|eur|€|£)",
    r"swift(?: code| bic| transfer| number| mt103|/bic)?",
    r"mt103",
    r"iban(?: number| code)?",
    r"routing (?:number|no|#|code)",
    r"aba (?:number|routing|no|#)",
    r"ach (?:transfer|payment|credit|debit|deposit|details|information|form|routing)",
    r"telegraphic transfer",
    r"transfer(?:ir)? (?:the |of )?(?:funds|money)",
    r"transfer[êe]ncia(?: banc[áa]ria)?",
    r"transferencia(?:s)? bancaria(?:s)?",
    r"(?:chave|via|por|fazer um|fa[çc]a um) pix",
    r"überweisung",
)


@signal("message.wire_transfer", bool)
def wire_transfer(m: Message, ctx: Context) -> bool:
    """Wire / bank transfer / SWIFT / IBAN / ACH language."""
    return WIRE_TRANSFER.found(m)


_BANKISH = (
    r"(?:bank|banking|remittance|wire|wiring|ach|deposit|beneficiary|receiving|payment) "
    r"(?:account|details|information|info|instructions|data|coordinates|records)"
)
BANK_CHANGE = Phrases(
    "bank banking remittance wire wiring ach deposit beneficiary account accounts banks changed "
    "change changes changing updated update new bancária bancaria bancários bancarios "
    "bankverbindung bankdaten conta cuenta iban routing old previous former current usual "
    "existing different another alternate alternative secondary revised",
    r"(?:changed|updated|new|change (?:of|in|to)|changes (?:to|in)|changing|updating|update|"
    r"update to|revised|amended|switched|modified|different) (?:our|my|the|their|its)? ?"
    + _BANKISH,
    _BANKISH + r" (?:has|have|had|will|was|were) (?:been |be )?(?:changed|updated|modified|revised|"
    r"amended|switched)",
    r"(?:changed|switched|moved|changing|switching) (?:our|my)? ?banks?",
    r"new (?:bank|banking|account|beneficiary|remittance|wire|payment) "
    r"(?:account|details|information|info|instructions)",
    r"(?:use|send|remit|wire|pay|direct) " + gap(4) + r"(?:to|into|in) (?:our|my|the|this) new "
    r"(?:bank|account|banking)",
    r"(?:update|change|amend) (?:your|the) (?:records|system|file|vendor (?:file|master|record)|"
    r"payment details|beneficiary) " + gap(3) + r"(?:our|my|the) new (?:bank|account|banking)",
    # the account named, then what happened to it, a few words apart, either order: "our
    # banking details with First Harbor have recently been updated", "the old account is no
    # longer in use", "switched to a different bank account"
    r"(?:bank|banking|remittance|beneficiary|ach|iban|routing) (?:\w+ ){0,2}?(?:details|"
    r"accounts?|information|info|instructions|coordinates|numbers?) (?:\w+ ){0,4}?"
    r"(?:has|have|had|was|were|is|are|will be|being) (?:\w+ ){0,2}?(?:changed|updated|switched|"
    r"moved|replaced|closed|frozen|suspended|discontinued|deactivated|under (?:audit|review))",
    r"(?:old|previous|former|current|usual|existing) (?:bank |banking |remittance )?"
    r"(?:account|bank|details) " + gap(4) + r"(?:no longer|not be|cannot be|can't be|should not|"
    r"is not|closed|frozen|suspended|discontinued|under (?:audit|review))",
    r"(?:different|another|alternate|alternative|secondary|updated|revised) (?:bank|banking|"
    r"receiving|remittance) (?:account|details|information|info|instructions)",
    r"nova conta(?: banc[áa]ria| corrente)?",
    r"dados banc[áa]rios " + gap(2) + r"(?:alterados|atualizados|mudaram|foram alterados)",
    r"(?:nueva|cambio de) cuenta(?: bancaria)?",
    r"neue bankverbindung",
    r"(?:geänderte|neue) bankdaten",
)


@signal("message.bank_change", bool)
def bank_change(m: Message, ctx: Context) -> bool:
    """Says bank / remittance details changed, or asks to update the banking details on file."""
    return BANK_CHANGE.found(m)


PAYROLL_CHANGE = Phrases(
    "direct deposit payroll paycheck paychecks pay check salary wages salário salario nómina",
    r"(?:change|changing|update|updating|switch|switching|new|modify|redirect|amend|edit) "
    + gap(3)
    + r"(?:direct deposit|payroll|paychecks?|pay ?checks?|salary|wages?)(?: \w+)? ?"
    r"(?:account|details|information|info|bank|destination|deposit|payment)?",
    r"(?:direct deposit|payroll|paycheck|pay check|salary|wages?) (?:account|details|"
    r"information|info|bank|banking) " + gap(5) + r"(?:change|changed|update|updated|new)",
    r"(?:my|next|upcoming|this month'?s) (?:paycheck|pay check|salary|wages?|pay) "
    + gap(3)
    + r"(?:to|into) (?:a|my|the) (?:new|different) (?:account|bank)",
    # the pay named, then where it should now go: "for payroll, please use my new account",
    # "direct my next salary payment to the card below"
    r"(?:direct deposit|payroll|paychecks?|pay ?checks?|salary|wages?) "
    + gap(8)
    + r"(?:new|different|another|updated|other) (?:bank|account|card|banking)",
    r"(?:new|different|another|updated) (?:bank|account|banking) "
    + gap(6)
    + r"(?:direct deposit|payroll|paychecks?|pay ?checks?|salary|wages?)",
    r"(?:alterar|mudar|atualizar) (?:minha |a )?conta sal[áa]rio",
    r"(?:cambiar|actualizar) (?:mi )?cuenta de n[óo]mina",
)


@signal("message.payroll_change", bool)
def payroll_change(m: Message, ctx: Context) -> bool:
    """Asks to change a direct deposit, payroll account or paycheck destination."""
    return PAYROLL_CHANGE.found(m)


_CARDS = (
    r"(?:itunes|i-tunes|google play|play store|amazon|steam|apple|vanilla|ebay|target|walmart|"
    r"visa|sephora|best buy|razer gold|xbox|playstation|psn|nordstrom|home depot|onevanilla)"
)
GIFT_CARD = Phrases(
    "gift giftcard giftcards cards card itunes steam vanilla scratch codes code pins",
    r"(?:buy|purchase|get|pick up|grab|order|send|need|acquire) "
    + gap(4)
    + r"(?:gift ?cards?|giftcards?|"
    + _CARDS
    + r" (?:gift )?cards?)",
    r"(?:gift ?cards?|"
    + _CARDS
    + r" (?:gift )?cards?) "
    + gap(6)
    + r"(?:scratch|codes?|pins?|denominations?|\$ ?\d+|purchase|buy|send me|picture|photo)",
    r"scratch (?:off |out )?(?:the )?(?:back|silver|card|codes?|pins?)",
    r"(?:send|email|text) (?:me )?(?:the )?(?:card )?(?:codes?|pins?|pictures? of the cards?)",
    r"(?:itunes|steam|google play|vanilla|razer gold) (?:gift )?(?:cards?|codes?|vouchers?)",
)


@signal("message.gift_card", bool)
def gift_card(m: Message, ctx: Context) -> bool:
    """Asks to buy gift cards (iTunes, Google Play, Amazon, Steam, Vanilla) or send their codes."""
    return GIFT_CARD.found(m)


_ACCOUNT = (
    r"(?:account|identity|email|e-mail|email address|mailbox|mail box|login|log-in|password|"
    r"credentials|details|information|info|profile|ownership|billing information|payment "
    r"(?:details|information|method)|apple id|webmail|office 365|microsoft account|id)"
)
_VERIFY = (
    r"(?:verify|re-?verify|confirm|re-?confirm|validate|re-?validate|authenticate|"
    r"re-?authenticate|update|reactivate|re-activate|unlock|restore|secure|upgrade)"
)
# Records a business keeps about a counterpart: updating them is bookkeeping, not a sign-in.
_BUSINESS_RECORD = (
    r"(?:bank|banking|remittance|wire|payment|vendor|supplier|shipping|delivery|contact|"
    r"customer|client|beneficiary|tax|billing|company|project|order|invoice|ach|gis|sap)"
)
CREDENTIAL_REQUEST = Phrases(
    "verify verifying verification confirm confirming confirmation validate validation "
    "revalidate re sign log login logon signin authenticate reauthenticate password passwords "
    "credentials mailbox quota storage update reset change enter unlock reactivate restore "
    "re-activate click keep upgrade reconfirm reverify revalidate information info details "
    "confirme atualize atualizar verifique recadastramento "
    "cadastro actualice verifique bestätigen verifizieren aktualisieren",
    _VERIFY + r" your (?:\w+ )?" + _ACCOUNT,
    # "the ...": but updating *the* bank / vendor / shipping details of an invoice or a record
    # is bookkeeping, not a sign-in lure
    _VERIFY + r" the (?!" + _BUSINESS_RECORD + r" )(?:\w+ )?" + _ACCOUNT,
    r"(?:sign|log) ?(?:in|on|into) (?:to |into |with |using )?(?:your|the) (?:\S+ ){0,2}"
    r"(?:account|mailbox|portal|email|webmail|profile|credentials)",
    r"(?:update|reset|change|re-?enter|provide|confirm|enter|submit) (?:your|the) (?:\w+ )?"
    r"(?:password|passcode|credentials|login details|sign-in details|pin)",
    r"re-?authenticat(?:e|ion)",
    r"re-?login",
    r"(?:mailbox|mail box|e-?mail|inbox|storage|quota) (?:quota|storage|is full|size|limit|"
    r"has (?:exceeded|reached)|is almost full|(?:is )?(?:over|exceeded|reached)|"
    r"upgrade|full)",
    r"exceeded (?:its|the|your) (?:storage|quota|limit|mailbox)",
    r"password (?:expires|will expire|has expired|is expiring|expiration|expiry|reset required)",
    r"(?:keep|retain|continue (?:using|with)) (?:the |your )?(?:same|current) password",
    r"click (?:here|below|on the link|the link|the button|on the button) "
    + gap(2)
    + r"(?:to )?(?:verify|confirm|validate|log ?in|sign ?in|update|reactivate|unlock|restore|"
    r"keep|upgrade|retain|secure|authenticate)",
    r"confirm(?:e|ar)? (?:seus|os|suas|sua|seu) (?:dados|cadastro|conta|identidade|senha)",
    r"atualiz(?:e|ar) (?:seus|os|sua|seu|o) (?:dados|cadastro|conta)",
    r"verifi(?:que|car) (?:sua|a) conta",
    r"recadastramento",
    r"(?:verifique|actualice|confirme) (?:su|sus) (?:cuenta|datos|identidad|contraseña)",
    r"(?:bestätigen|verifizieren|aktualisieren) sie (?:ihr|ihre) (?:konto|daten|identität)",
)


@signal("message.credential_request", bool)
def credential_request(m: Message, ctx: Context) -> bool:
    """Asks to verify / confirm / sign in / update a password / validate an account / quota."""
    return CREDENTIAL_REQUEST.found(m)


_THREATENED = (
    r"(?:suspended|deactivated|disabled|locked|blocked|closed|terminated|deleted|restricted|"
    r"limited|on hold|frozen|cancell?ed|revoked|shut down|removed|de-?activated|blacklisted)"
)
ACCOUNT_THREAT = Phrases(
    "account accounts mailbox email access service profile suspend suspended suspension "
    "deactivate deactivated deactivation disable disabled lock locked lockout block blocked "
    "close closure terminate terminated delete deleted deletion restrict restricted limited "
    "freeze frozen failure failing lose loss conta cartão acesso cuenta konto",
    r"(?:account|mailbox|email|e-mail|access|service|card|password|profile|subscription|"
    r"membership|domain|webmail) (?:has|have|will|is|may|would|might|are|could|shall) (?:be )?"
    r"(?:been )?(?:temporarily |permanently |automatically |soon )?" + _THREATENED,
    r"(?:suspend|deactivate|disable|lock|block|close|terminate|delete|restrict|limit|freeze|"
    r"cancel|shut down|de-?activate) (?:your|the) (?:\w+ )?(?:account|mailbox|email|access|"
    r"service|profile|subscription)",
    r"(?:permanent|temporary|temporarily|account|mailbox) (?:suspension|deactivation|closure|"
    r"lock(?:ed|out)?|restriction|termination|deletion)",
    r"limited access",
    r"(?:lose|loss of|losing) (?:access|your (?:account|data|emails|files|messages))",
    r"fail(?:ure|ing)? to (?:verify|confirm|update|comply|validate|respond|do so) "
    + gap(6)
    + r"(?:suspen\w+|deactivat\w+|disabl\w+|lock\w*|clos\w+|terminat\w+|delet\w+|restrict\w*|"
    r"loss|lose)",
    r"(?:conta|cart[ãa]o|acesso) (?:ser[áa]|foi|est[áa]|pode ser) (?:temporariamente )?"
    r"(?:bloquead[oa]|suspens[oa]|desativad[oa]|cancelad[oa]|encerrad[oa])",
    r"(?:cuenta|tarjeta|acceso) (?:será|ha sido|está|fue) (?:temporalmente )?"
    r"(?:suspendid[oa]|bloquead[oa]|desactivad[oa]|cancelad[oa])",
    r"konto (?:wird|wurde|ist) (?:vorübergehend )?(?:gesperrt|deaktiviert|eingeschränkt)",
)


@signal("message.account_threat", bool)
def account_threat(m: Message, ctx: Context) -> bool:
    """Threatens suspension / deactivation / lockout / deletion / limited access of an account."""
    return ACCOUNT_THREAT.found(m)


INVOICE = Phrases(
    "invoice invoices invoiced invoicing overdue past due payment remittance purchase order "
    "statement amount balance proforma pro forma bill fatura faturas boleto factura facturas "
    "rechnung rechnungen nota",
    r"invoic(?:e|es|ed|ing)",
    r"overdue",
    r"past due",
    r"payment (?:due|overdue|reminder|advice|notice)",
    r"remittance(?: advice| slip| copy)?",
    r"purchase orders?",
    r"statement of accounts?",
    r"(?:amount|balance|total) (?:due|outstanding|payable)",
    r"outstanding (?:balance|amount|invoices?|payments?)",
    r"pro-?forma",
    r"pro forma",
    r"(?:unpaid|outstanding|overdue|final) bills?",
    r"faturas?",
    r"boleto",
    r"nota fiscal",
    r"facturas?",
    r"rechnung(?:en)?",
)


@signal("message.invoice_language", bool)
def invoice_language(m: Message, ctx: Context) -> bool:
    """Invoice, overdue, payment due, remittance, purchase order, statement of account."""
    return INVOICE.found(m)


EXTORTION = Phrases(
    "recorded recording record video webcam camera cam malware trojan virus spyware rat "
    "hacked hacker compromised accessed contacts friends adult porn pornographic porno "
    "masturbating masturbation intimate compromising bitcoin btc password know delete "
    "infected device police law enforcement obtained stolen exfiltrated encrypted publish leak "
    "expose sell pay",
    r"(?:i|we) (?:have |'ve )?(?:recorded|captured|filmed) (?:you|a video|video|your)",
    r"recorded (?:you|a video of you|video of you)",
    r"(?:your|the) (?:webcam|web cam|camera|cam) (?:and|was|is|to record|recording)",
    r"(?:through|via|using|from|activated|accessed) (?:your|the) (?:webcam|web cam|camera|"
    r"front camera|device'?s? camera)",
    r"(?:malware|trojan|virus|spyware|rat|keylogger|exploit|software) (?:on|in|to|into) "
    r"(?:your|the) (?:device|computer|system|pc|phone|laptop|operating system|browser)",
    r"(?:hacked|compromised|infected|accessed|gained (?:full )?(?:access|control) (?:to|of|over)) "
    r"(?:your|the) (?:device|computer|system|pc|phone|email|account|laptop|operating system)",
    r"i (?:have )?hacked",
    r"(?:send|share|forward|distribute|release|upload|leak|sent) (?:it|the video|this video|"
    r"the recording|the footage|them|these videos?|everything) (?:to|with) (?:all )?(?:of )?"
    r"(?:your|you) (?:contacts|friends|family|colleagues|relatives|social)",
    r"(?:all )?(?:of )?your (?:contacts|friends|family|colleagues) will (?:see|receive|get)",
    r"(?:adult|porn|pornographic|xxx|sex) (?:web ?sites?|sites?|videos?|content|material)",
    r"(?:masturbat\w+|pleasuring yourself|jerking off|touching yourself)",
    r"(?:intimate|compromising|embarrassing|explicit) (?:video|videos|footage|material|"
    r"photos|content|recording)",
    r"(?:i|we) know (?:your|one of your) passwords?",
    r"(?:delete|destroy|erase|remove) (?:the|this|all|your|my) (?:video|videos|evidence|"
    r"recording|recordings|footage)",
    r"(?:pay|send|transfer) (?:me )?" + gap(3) + r"(?:in|via|using|with) (?:bitcoin|btc|"
    r"crypto(?:currency)?)",
    r"(?:do not|don't|dont) (?:try to )?(?:contact|inform|tell|involve|report (?:this )?to) "
    r"(?:the )?(?:police|law enforcement|authorities|fbi|cops)",
    r"(?:we|i) (?:have )?(?:obtained|stolen|exfiltrated|downloaded|copied|encrypted) (?:all )?"
    r"(?:of )?your (?:\w+ ){0,2}(?:files|data|records|documents|databases?|emails)",
    r"(?:publish|leak|release|expose|sell|post) (?:everything|all (?:of )?(?:it|your \w+)|your "
    r"(?:\w+ )?(?:data|files|records|documents)|the (?:data|files|records|documents))",
    r"pay (?:me |us )?(?:\d+(?:[.,]\d+)? ?(?:btc|bitcoins?|eth|xmr|monero)|"
    r"\$ ?\d[\d,.]* (?:in|of|worth of) (?:btc|bitcoin|crypto))",
)


@signal("message.extortion", bool)
def extortion(m: Message, ctx: Context) -> bool:
    """Sextortion / blackmail wording: recorded you, webcam, malware on your device, pay or else."""
    return EXTORTION.found(m)


SECRECY = Phrases(
    "confidential confidentiality private secret quiet discreet discretion discrete between "
    "tell anyone anybody mention discuss share sigilo sigiloso confidencial",
    r"keep (?:this|it|that|the matter|this matter|this request|everything|our conversation|"
    r"this (?:transaction|deal|information|email|message)) (?:strictly |highly |completely |"
    r"very |absolutely )?(?:confidential|private|secret|quiet|discreet|discrete|between us|"
    r"between (?:you and me|the two of us)|to yourself|low[- ]profile)",
    r"(?:stay|remain|be kept) (?:strictly )?(?:between us|between (?:you and me|the two of us))",
    r"(?:please|kindly) (?:be|remain|stay) (?:discreet|discrete)",
    r"(?:strictly|highly|extremely|very) (?:confidential|discreet|private)",
    r"between (?:you and (?:me|i)|the two of us|us (?:only|two|for now))",
    r"(?:don'?t|do not|dont|never|no need to) (?:tell|mention|discuss|share|inform|talk to|"
    r"speak to|speak with|talk about|disclose) " + gap(2) + r"(?:anyone|anybody|others|"
    r"other staff|colleagues|the team|(?:this|it) (?:with|to) (?:anyone|anybody|others))",
    r"(?:need|require|count on|rely on|trust) (?:your|ur) (?:\w+ )?(?:discretion|confidentiality)",
    r"(?:confidential|discreet|secret|private) (?:transaction|matter|acquisition|deal|"
    r"project|task|assignment|payment|operation|business)",
    r"(?:sigilo|sigiloso|sigilosa|confidencial) (?:absoluto|total)?",
)


@signal("message.secrecy", bool)
def secrecy(m: Message, ctx: Context) -> bool:
    """Asks for secrecy: keep this confidential / between us / don't tell anyone / be discreet."""
    return SECRECY.found(m)


AVAILABILITY = Phrases(
    "available availability free around desk busy minute moment sec second favor favour "
    "task quick there online cell mobile whatsapp number disponível disponible",
    r"are (?:you|u) (?:available|free|around|at your desk|at your (?:computer|laptop|office)|"
    r"in the office|busy|on (?:site|seat)|there|online)(?! (?:for|on|at \d|next|this|"
    r"tomorrow|today at|to (?:meet|talk|discuss|join|attend|chat|go|have|speak|do lunch)|"
    r"between|after|before|\d|" + _DAYS + r"|in (?:the )?(?:morning|afternoon|evening)|"
    r"(?:later|sometime)))",
    r"(?:got|have|do you have|you have|spare) (?:a|one) (?:quick |spare )?(?:minute|moment|sec|"
    r"second)\s*\?",
    r"(?:need|i need|do me|can you do me|could you do me|request) (?:a|one) (?:quick |small |"
    r"little |huge |personal )?favou?r",
    r"(?:let me know|tell me|reply|email me|confirm) (?:if|when|once|whether) (?:you are|"
    r"you're|ur|u r) (?:available|free|at your desk|around)",
    r"(?:i have|i need you to (?:handle|complete|do)|can you (?:handle|complete|do)) (?:a|an) "
    r"(?:quick |urgent |small |important |confidential )?(?:task|assignment|errand)",
    r"(?:send|text|reply with|email) (?:me )?(?:your|ur) (?:personal )?(?:cell|mobile|"
    r"whatsapp|phone|cellphone|cell phone)(?: number| no)?",
    r"(?:est[áa]s?|voc[êe] est[áa]) dispon[íi]vel",
    r"(?:est[áa]s|est[áa] usted) disponible",
)


@signal("message.availability_check", bool)
def availability_check(m: Message, ctx: Context) -> bool:
    """Opens a pretext: are you available / at your desk / got a minute / need a quick favor."""
    return AVAILABILITY.found(m)


PRIZE_LURE = Phrases(
    "lottery lotto jackpot winner winners winning won win prize prizes inheritance "
    "beneficiary kin unclaimed compensation million millions sweepstakes selected claim "
    "reward lucky draw prêmio premio sorteio ganhou ganado lotería loteria gewonnen gewinner",
    r"lotter(?:y|ies)",
    r"lotto",
    r"jackpot",
    r"(?:you are|you're|you have been (?:selected|chosen) as) (?:a|the|our) (?:lucky |"
    r"grand |final )?winners?",
    r"(?:winning|lucky|ticket) (?:numbers?|tickets?|draw|notification|email)",
    r"(?:you|your (?:email|e-mail|address)) (?:have |has )?won",
    r"(?:you|your (?:email|e-mail|address)) (?:have|has) been (?:selected|chosen) (?:as (?:a|the|"
    r"our|one of (?:the |our )?(?:\w+ )?) ?(?:lucky )?(?:winners?|beneficiar(?:y|ies)|"
    r"recipients?)|to (?:receive|win)|for (?:a|the|our) "
    r"(?:prize|reward|award|grant|cash|donation))",
    r"inheritance",
    r"next of kin",
    r"(?:named|nominated|made|appointed) (?:you )?(?:as )?(?:the |a )?(?:sole )?beneficiary",
    r"beneficiary (?:of|to) (?:the|this|a|my|his|her|late)",
    r"unclaimed (?:funds?|inheritance|prize|money|package|sum|assets?|deposit|reward)",
    r"compensation (?:fund|payment|money|sum|of \$)",
    r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|"
    r"thirty|fifty|hundred) million (?:united states |us |u\.s\. )?(?:dollars|usd|euros?|"
    r"pounds|gbp)",
    r"(?:claim|collect|receive) (?:your|the) (?:prize|reward|gift|winnings|funds|award|"
    r"compensation|payout|bonus)",
    r"(?:cash|grand|first|1st) prize",
    r"sweepstakes?",
    r"(?:voc[êe]|vc) (?:foi )?(?:ganhou|premiad[oa]|sorteado)",
    r"pr[êe]mio",
    r"sorteio",
    r"(?:usted )?ha ganado",
    r"loter[íi]a",
    r"sie haben gewonnen",
    r"gewinner",
)


@signal("message.prize_lure", bool)
def prize_lure(m: Message, ctx: Context) -> bool:
    """Lottery / winner / inheritance / beneficiary / unclaimed funds / million dollars lure."""
    return PRIZE_LURE.found(m)


SHIPPING_LURE = Phrases(
    "parcel parcels package packages delivery deliveries deliver delivered shipment shipments "
    "customs tracking track reschedule redelivery courier consignment shipping waybill "
    "encomenda encomendas entrega rastreamento rastreio objeto alfandegária importação paquete "
    "envío envio paket sendung zustellung",
    r"(?:your|a|the|one|1) (?:\w+ )?(?:parcel|package|shipment|consignment|delivery|order) "
    r"(?:is|has been|was|could not|couldn'?t|cannot|can not|will be|awaits|awaiting|is "
    r"awaiting|is waiting|remains|was not|has not been|is being) (?:\w+ )?(?:on hold|held|"
    r"waiting|awaiting|pending|delayed|suspended|returned|undelivered|not delivered|"
    r"delivered|retained|stopped|blocked|unable|for delivery|at our|in our|in transit)",
    r"(?:delivery|shipment|shipping) (?:failed|failure|attempt|unsuccessful|was unsuccessful|"
    r"could not|exception|notification|is on hold|suspended|problem|issue|address "
    r"(?:confirmation|verification|incomplete|invalid))",
    r"(?:failed|unsuccessful|missed|incomplete|attempted) (?:delivery|deliveries|shipment)",
    r"customs (?:fees?|duty|duties|charges?|clearance|tax)",
    r"tracking (?:number|no|code|id|information|details|link|#)",
    r"track (?:your|my|the) (?:package|parcel|shipment|order|delivery)",
    r"re-?schedule (?:your |the )?deliver(?:y|ies)",
    r"redelivery",
    r"(?:shipping|delivery|redelivery) (?:fee|charge|cost)s? (?:of|is|are|unpaid|required|"
    r"outstanding|due|pending)",
    r"(?:unable|not able|tried) to deliver",
    r"(?:sua|seu) (?:encomenda|objeto|pedido|pacote) (?:est[áa]|foi|ser[áa]) (?:\w+ )?"
    r"(?:retid[oa]|aguardando|tributad[oa]|devolvid[oa]|bloquead[oa]|parad[oa])",
    r"(?:taxa|tarifa) (?:alfandeg[áa]ria|de importa[çc][ãa]o|postal|de entrega)",
    r"(?:c[óo]digo de )?rastreamento",
    r"entrega (?:falhou|pendente|n[ãa]o realizada|mal sucedida)",
    r"(?:su|tu) (?:paquete|env[íi]o) (?:est[áa]|ha sido|fue) (?:\w+ )?(?:retenido|pendiente|"
    r"devuelto|detenido)",
    r"(?:ihr|ihre) (?:paket|sendung) (?:konnte|wurde|ist|wird)",
)


@signal("message.shipping_lure", bool)
def shipping_lure(m: Message, ctx: Context) -> bool:
    """Parcel / delivery failed / customs fee / tracking / reschedule delivery lure."""
    return SHIPPING_LURE.found(m)


SPAM = Phrases(
    "free unsubscribe limited offer offers viagra cialis levitra weight lose lowest price "
    "prices click guaranteed guarantee obligation order buy special cheap discount discounts "
    "earn money cash work home double credit seen opt remove receiving spam friend casino "
    "pharmacy meds replica rolex mortgage refinance degree singles enlargement miracle save "
    "off deal deals bonus subscribe winner risk amazing incredible call apply shop sign now "
    "today hidden",
    r"100% (?:free|guaranteed|satisfaction|natural|legal)",
    r"(?:for|totally|absolutely|completely) free",
    r"free (?:gift|trial|shipping|offer|access|money|quote|consultation|sample|bonus|"
    r"membership|report|cash|iphone|ipad|info|information|investment|preview|hosting|"
    r"installation|dvd|cd)",
    r"risk[- ]free",
    r"unsubscribe",
    r"limited[- ]time (?:offer|only|deal|discount)",
    r"(?:special|exclusive) (?:offer|promotion|deal|discount)",
    r"viagra",
    r"cialis",
    r"levitra",
    r"(?:weight loss|lose weight|lose \d+ (?:lbs|pounds|kg))",
    r"lowest (?:prices?|rates?|mortgage)",
    r"best (?:prices?|rates?|deals?) (?:online|guaranteed|available|ever)",
    r"click (?:here|below)",
    r"guaranteed",
    r"no (?:obligation|purchase necessary|credit check|hidden (?:fees|costs)|strings attached|"
    r"catch|questions asked|prescription)",
    r"(?:order|buy|shop|call|apply|subscribe|sign up) (?:now|today)",
    r"cheap(?:est)?",
    r"(?:huge|big|massive|deep|special) discounts?",
    r"(?:earn|make) (?:extra |easy |fast |big )?(?:money|cash|income|\$)",
    r"(?:work|working) from home",
    r"double your (?:money|income|cash)",
    r"as seen on",
    r"opt[- ]?out",
    r"remove (?:me|yourself|your (?:name|address|email)) from (?:this|our|the) (?:list|"
    r"mailing|database)",
    r"you (?:are|were) receiving this (?:e-?mail|message|newsletter)",
    r"this is not (?:a )?spam",
    r"dear friend",
    r"online casino|casino",
    r"(?:online|canadian) pharmacy",
    r"meds",
    r"replica (?:watches|rolex|handbags)",
    r"rolex",
    r"refinanc(?:e|ing)",
    r"(?:online|university) degree",
    r"(?:hot|local|meet) singles",
    r"enlargement",
    r"miracle",
    r"save (?:up to )?\d{1,2}% ?(?:off)?",
    r"\d{2}% off",
    r"amazing (?:offer|deal|opportunity)",
    r"incredible (?:offer|deal|opportunity)",
)


@signal("message.spam_phrases", int)
def spam_phrases(m: Message, ctx: Context) -> int:
    """Number of distinct marketing-spam phrases (free gift, unsubscribe, viagra, ...)."""
    return SPAM.distinct(m)


PASSWORD_HINT = Phrases(
    "password passwords passwd pwd pass passcode senha contraseña clave passwort kennwort code",
    r"(?:password|passwd|pwd|pass|passcode|pass code|senha|contraseña|clave|passwort|kennwort|"
    r"(?:archive|zip|file|document|pdf|attachment|opening) code)"
    r"(?: (?:for|to open|to access|to unlock|to view) (?:the |this )?(?:attached |attachment|"
    r"\w+ )?(?:file|document|archive|zip|pdf|attachment|invoice)?)? ?(?:is|:|=|-|=>|is:) ?"
    r"[\"'«]?[a-z0-9@#$%&*!_.-]{3,24}",
)
_ATTACH_WORDS = Phrases(
    "attached attachment attachments archive file files document documents zip rar pdf open",
    r"attach(?:ed|ment|ments)",
    r"(?:the|this) (?:archive|file|document|zip|rar|pdf)",
    r"open (?:the|it)",
)


@signal("message.attachment.password_hint", bool)
def password_hint(m: Message, ctx: Context) -> bool:
    """The body gives a password for an attachment ("password: 1234", "the pwd is")."""
    if not PASSWORD_HINT.found(m):
        return False
    return bool(m.attachments) or _ATTACH_WORDS.found(m)


# Money as a topic, not a request: words any payment, invoice, payroll or gift-card message uses
# however it is phrased, and amounts. Weaker than the request families above: rules pair it with
# an identity that is already wrong (a lookalike domain, a colleague's name on an outside address).
_MONEY_WORDS = frozenset(
    b"payment payments pay paid invoice invoices wire wired transfer transfers bank banking banks "
    b"remit remittance funds deposit payroll paycheck paycheque salary wages iban swift ach "
    b"routing beneficiary gift cards vendor outstanding overdue balance refund".split()
)
_AMOUNT = re.compile(r"[$€£]\s?\d|\b\d[\d,.]*\s?(?:usd|eur|gbp|dollars|euros)\b")


@signal("message.money_topic", bool)
def money_topic(m: Message, ctx: Context) -> bool:
    """Talks about money: an amount ($4,800, 12.500 EUR) or two different money words
    (invoice, bank, wire, payroll, gift cards...)."""
    text, words = scan(m)
    return len(words & _MONEY_WORDS) >= 2 or _AMOUNT.search(text) is not None
