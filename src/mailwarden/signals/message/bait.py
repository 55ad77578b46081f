"""Consumer-scam bait: dating, diet pills, crypto, rewards; and "styled" Unicode subjects.

Phrase families searched near their anchor words like those in `phrases` (see `signals._text`),
plus a check for the mathematical bold / italic / script alphabets bulk senders write subjects
in so that a word filter cannot read them. Each is one piece of evidence: rules pair it with
something about the sender or the links (see `message.throwaway_traits`).
"""

from __future__ import annotations

from mailwarden.context import Context
from mailwarden.message import Message
from mailwarden.signals import signal
from mailwarden.signals._text import Phrases

DATING_BAIT = Phrases(
    "girls girl women ladies singles milfs milf wives brides beauties meet date dating "
    "hookup hookups hook sex sexy horny naughty nude nudes erection erectile penis libido "
    "sexual geile mädchen frauen intim sexkontakte ficken",
    r"(?:hot|horny|lonely|naughty|sexy|local|single|ukrain\w+|russi\w+|asian|latin|mature|"
    r"hei(?:ß|ss)e|einsame) (?:girls?|women|ladies|singles|milfs?|wives|moms|brides|beauties|"
    r"frauen|m[äa]dchen)",
    r"(?:wants?|would like|is waiting|are waiting|is looking|looking) (?:to )?(?:meet|date|"
    r"chat with|hook ?up with|see) (?:you|u)",
    r"(?:sex|hook-?up|casual|adult|discreet) (?:dating|dates?|partners?|encounters?|meetings?|"
    r"chat|cams?|contacts?)",
    r"hookups?",
    r"nudes",
    r"(?:erection|erectile|penis|libido)",
    r"sexual (?:performance|stamina|power|health|leistungsf\w+)",
    r"geile? (?:girls|frauen|m[äa]dchen|milfs?)",
    r"intim",
    r"sexkontakte",
    r"ficken",
)


@signal("message.dating_bait", bool)
def dating_bait(m: Message, ctx: Context) -> bool:
    """Dating / sex-contact / sexual-enhancement bait (hot singles want to meet you, libido)."""
    return DATING_BAIT.found(m)


DIET_BAIT = Phrases(
    "weight loss lose losing lost shed drop burn melt fat belly keto gummies diet carb blood "
    "sugar diabetes a1c neuropathy tinnitus prostate pain metabolism metabolic wrinkles hair "
    "memory brain gewichtsverlust abnehmen emagrecer emagrecimento cbd",
    r"(?:lose|losing|lost|shed|drop|burn|melt)s? (?:up to )?(?:\d+ ?(?:lbs|pounds|kg|kilos)|"
    r"(?:belly|stubborn|body|excess|visceral) fat|weight)",
    r"weight[- ]?loss",
    r"belly fat",
    r"fat[- ]?burn\w*",
    r"keto\w*",
    r"gummies",
    r"(?:blood sugar|a1c|type 2 diabetes)",
    r"neuropathy",
    r"tinnitus",
    r"(?:enlarged )?prostate",
    r"(?:joint|nerve|knee) pain",
    r"(?:metabolism|metabolic) (?:booster|boost|secret|trick|hack)",
    r"(?:carb|sugar|fat|coffee|salt|ice|water) (?:ritual|trick|hack)",
    r"(?:anti[- ]?aging|wrinkles?|hair (?:loss|growth))",
    r"(?:memory|brain) (?:loss|booster|pill)",
    r"cbd (?:oil|gummies)",
    r"gewichtsverlust",
    r"abnehmen",
    r"emagrec\w+",
)


@signal("message.diet_bait", bool)
def diet_bait(m: Message, ctx: Context) -> bool:
    """Diet-pill / miracle-cure bait (lose belly fat, keto gummies, blood sugar, tinnitus)."""
    return DIET_BAIT.found(m)


CRYPTO_BAIT = Phrases(
    "airdrop airdrops wallet wallets token tokens staking stake seed phrase recovery usdt xrp "
    "eth btc bitcoin bitcoins withdrawal withdraw mining metamask crypto cryptocurrency coins "
    "earned accumulated balance credited received secret mnemonic claim receive collect get "
    "grab",
    r"airdrops?",
    r"(?:verify|validate|sync|synchroni[sz]e|connect|update|restore|secure|reactivate|upgrade|"
    r"migrate|confirm|unlock|recover) (?:your|the) (?:\w+ )?wallets?",
    r"wallets? (?:has|have|is|will|was|were|may) (?:been |be )?(?:temporarily |permanently )?"
    r"(?:suspended|locked|restricted|disabled|compromised|deactivated|flagged|frozen|blocked|"
    r"paused|deleted)",
    r"(?:seed|secret recovery|recovery|mnemonic|secret) (?:phrase|words)",
    r"(?:claim|receive|collect|get|grab) (?:your |the )?(?:free )?(?:\d[\d,.]* )?(?:tokens?|"
    r"usdt|xrp|eth|btc|bitcoins?|crypto|coins)",
    r"(?:stake|staking) (?:your )?(?:xrp|eth|tokens?|coins|crypto)",
    r"(?:cloud )?mining (?:service|rewards?|profits?|income|contract)",
    r"withdraw(?:al)? (?:of )?(?:your )?(?:funds|balance|profits?|bitcoins?|btc|usdt|earnings|"
    r"crypto)",
    r"(?:earned|accumulated|balance of|credited with|received) \+?\d[\d,.]* (?:btc|eth|usdt|xrp|"
    r"bitcoins?)",
    r"\d+[.,]\d+ ?(?:btc|eth|usdt)",
)


@signal("message.crypto_bait", bool)
def crypto_bait(m: Message, ctx: Context) -> bool:
    """Crypto bait: airdrops, verify / sync your wallet, seed phrase, claim tokens, withdrawal."""
    return CRYPTO_BAIT.found(m)


REWARD_BAIT = Phrases(
    "congratulations congratulation selected chosen reward rewards gift voucher coupon box "
    "claim redeem collect receive gutschein gewinnen gewinnspiel gewinndaten gewinnchance "
    "glückwunsch gluckwunsch ausgewählt ausgewahlt ausgewhält félicitations felicitations "
    "achat récompense recompense gagner gagnez sélectionné selectionne congratulazioni "
    "selezionata selezionato selezionati selezionate pontos resgate resgatar brinde "
    "felicidades premio mystery surprise",
    r"congratulations?[!,.]* (?:you(?:'ve| have| are|'re)?|dear|!) ?(?:been )?(?:selected|"
    r"chosen|won|a winner|the winner|eligible|qualified|received|have|are)",
    r"you (?:have|'ve) been (?:randomly |specially )?(?:selected|chosen) (?:to (?:receive|"
    r"win|claim)|for (?:a|an|our|the|this) (?:\w+ )?(?:reward|gift|prize|voucher|offer|bonus))",
    r"(?:claim|redeem|collect|receive) (?:your|this|the|a) (?:free |exclusive |special )?"
    r"(?:\$?\d+ )?(?:reward|gift|prize|voucher|coupon|bonus|package|box|gift card)",
    r"(?:mystery|gift|reward|surprise) box",
    r"(?:\$|€|£) ?\d+ (?:gift ?card|voucher|reward|coupon|gutschein|bonus)",
    r"gutschein",
    r"gewinn(?:spiel|daten|chance)",
    r"gewinnen",
    r"gl[üu]ckwunsch",
    r"ausgew(?:[äa]h?lt|h[äa]lt)",
    r"f[ée]licitations",
    r"bon d.achat",
    r"r[ée]compense",
    r"gagn(?:er|ez)",
    r"s[ée]lectionn[ée]",
    r"congratulazioni",
    r"selezionat[aeio]",
    r"\d[\d.]* (?:mil )?pontos",
    r"pontos (?:acumulados|expiram|v[ãa]o expirar|livelo|dispon[íi]veis)",
    r"resgat(?:e|ar) (?:seus|os|agora|j[áa]|o seu|sua)",
    r"brinde",
    r"felicidades",
    r"reclam[ae] (?:su|tu) premio",
)


@signal("message.reward_bait", bool)
def reward_bait(m: Message, ctx: Context) -> bool:
    """Reward / voucher / points bait in several languages (you've been selected, Gutschein)."""
    return REWARD_BAIT.found(m)


def _styled(text: str) -> int:
    # Mathematical Alphanumeric Symbols (U+1D400-U+1D7FF)
    return sum(1 for c in text if "\U0001d400" <= c <= "\U0001d7ff")


@signal("message.styled_text", bool)
def styled_text(m: Message, ctx: Context) -> bool:
    """The subject or display name is written in "styled" Unicode letters (bold, script...)."""
    name = m.from_.name if m.from_ is not None else ""
    return _styled(m.subject) >= 3 or _styled(name) >= 3
