"""The text model: bag of words over subject and visible body, one linear model per category.

A message's words are the phrase signals' own token set (`signals._text.tokens` over
`Message.searchable`: the first 8,000 characters of subject + body, lower-cased, invisible
characters removed, ASCII punctuation as space, split, as a set — C speed), so a scan that ran
any phrase signal pays nothing more to tokenize, and training reads its texts the same way
(`message_words`). A word is a feature only if it is 2-24 letters (digits carry dates, prices
and ids that mark an era or a collector more than an attack) and occurs in at least `min_df`
training messages *from at least `min_sources` different corpora*: a word seen in one corpus
alone can only say which corpus a message came from (the Enron tenant's "ect" and "hou", a
list's name), which is the fingerprint an honest model must not learn.

The vocabulary is an exact set of words (intersected with the message's set in C) rather than
a hashing trick: no hash function to run per word, no collisions, and the words with no weight
worth keeping are pruned, which keeps the shipped file small. Training is multinomial logistic
regression with L2 (scipy's L-BFGS on a sparse matrix); a message's features are presence (0/1)
scaled by 1/sqrt(number of known words present).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mailwarden.message import searchable_text
from mailwarden.signals._text import phrase_text, tokens

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Words = frozenset[bytes]


def message_words(text: str) -> Words:
    """The token set a message with this subject + body text gets at scan time."""
    return tokens(phrase_text(searchable_text(text)))


def is_word(token: bytes) -> bool:
    text = token.decode("utf-8", "replace")
    return 2 <= len(text) <= 24 and text.isalpha()


@dataclass(frozen=True)
class TextModel:
    vocabulary: dict[bytes, int]
    weights: FloatArray  # (len(vocabulary), n_classes)
    bias: FloatArray  # (n_classes,)
    names: list[str] = field(init=False, repr=False, compare=False)  # index -> word
    # The vocabulary as Python's own hashes of its words (this process's), sorted, and the
    # word index of each: a message's words are looked up with one vectorised binary search
    # in 40 KB of contiguous memory instead of a probe per word into a dict of byte strings
    # scattered over the heap (measured in a scan, caches cold: ~25 us against ~105 us).
    _hashes: npt.NDArray[np.int64] = field(init=False, repr=False, compare=False)
    _order: IntArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [""] * len(self.vocabulary)
        for t, i in self.vocabulary.items():
            names[i] = t.decode("utf-8", "replace")
        object.__setattr__(self, "names", names)
        words = list(self.vocabulary)
        hashes = np.fromiter(map(hash, words), np.int64, len(words))
        order = np.argsort(hashes, kind="stable")
        if len(np.unique(hashes)) != len(hashes):  # two words, one hash: never seen; be exact
            raise ValueError("text model vocabulary hashes collide")
        index = np.fromiter((self.vocabulary[w] for w in words), np.intp, len(words))
        object.__setattr__(self, "_hashes", hashes[order])
        object.__setattr__(self, "_order", index[order])

    @property
    def n_classes(self) -> int:
        return int(self.bias.shape[0])

    def indices(self, words: Words) -> IntArray:
        """The vocabulary indices of a message's words. A word outside the vocabulary whose
        64-bit hash equals a vocabulary word's would count as it: ~1e-13 per message."""
        if not words or not len(self._hashes):
            return np.zeros(0, dtype=np.intp)
        hashes = np.fromiter(map(hash, words), np.int64, len(words))
        at = np.searchsorted(self._hashes, hashes)
        at[at == len(self._hashes)] = 0
        found: IntArray = self._order[at[self._hashes[at] == hashes]]
        return found

    def raw(self, words: Words) -> FloatArray:
        """Linear scores (one per class) for one message's words."""
        return self.raw_from(self.indices(words))

    def raw_from(self, idx: IntArray) -> FloatArray:
        if not len(idx):
            return self.bias.copy()
        result: FloatArray = self.weights[idx].sum(axis=0) / math.sqrt(len(idx)) + self.bias
        return result

    def raw_batch(self, texts: Sequence[str]) -> FloatArray:
        """Scores for many message texts (a dataset's text column)."""
        if not texts:
            return np.zeros((0, self.n_classes))
        return np.vstack([self.raw(message_words(t)) for t in texts])

    def top_tokens(self, idx: IntArray, cls: int, n: int = 3) -> list[tuple[str, float]]:
        """The words (vocabulary indices `idx`) that push class `cls` up most (word, weight)."""
        if not len(idx):
            return []
        scale = 1 / math.sqrt(len(idx))
        weights = self.weights[idx, cls]
        ranked = np.argsort(-weights)[:n]
        return [(self.names[idx[j]], float(weights[j] * scale)) for j in ranked]

    def to_arrays(self) -> dict[str, Any]:
        return {
            "text_tokens": np.asarray(self.names, dtype=np.str_),
            "text_weights": self.weights.astype(np.float32),
            "text_bias": self.bias,
        }

    @classmethod
    def from_arrays(cls, arrays: Any) -> TextModel:
        vocab = [str(w).encode("utf-8") for w in arrays["text_tokens"]]
        weights = np.asarray(arrays["text_weights"], dtype=np.float64)
        bias = np.asarray(arrays["text_bias"], dtype=np.float64)
        if weights.ndim != 2 or weights.shape != (len(vocab), bias.shape[0]):
            raise ValueError("text model weights do not match its vocabulary")
        if not np.isfinite(weights).all() or not np.isfinite(bias).all():
            raise ValueError("text model holds a non-finite weight")
        return cls({w: i for i, w in enumerate(vocab)}, weights, bias)


def fit_text(
    texts: Sequence[str],
    y: npt.NDArray[np.int64],
    sources: Sequence[str],
    n_classes: int,
    *,
    min_df: int = 3,
    min_sources: int = 2,
    l2: float = 1.0,
    max_iter: int = 100,
    keep: int = 20000,
    max_vocab: int = 60000,
) -> TextModel:
    """Fit the text model; `sources` (the corpus of each text) drives the vocabulary filter."""
    from scipy import optimize, sparse

    docs = [message_words(t) for t in texts]
    df: Counter[bytes] = Counter()
    for doc in docs:
        df.update(doc)
    frequent = {t for t, c in df.items() if c >= min_df and is_word(t)}
    seen_in: dict[bytes, set[str]] = {}
    for doc, source in zip(docs, sources, strict=True):
        for t in doc & frequent:
            seen_in.setdefault(t, set()).add(source)
    eligible = [t for t in frequent if len(seen_in[t]) >= min_sources]
    del seen_in, frequent
    # the most frequent `max_vocab` eligible tokens (ties by name, so reruns agree)
    vocab = sorted(sorted(eligible, key=lambda t: (-df[t], t))[:max_vocab])
    index = {t: i for i, t in enumerate(vocab)}
    indptr = [0]
    cols: list[int] = []
    vals: list[float] = []
    for doc in docs:
        idx = [index[t] for t in doc if t in index]
        cols += idx
        vals += [1 / math.sqrt(len(idx))] * len(idx) if idx else []
        indptr.append(len(cols))
    n, v, k = len(docs), len(vocab), n_classes
    x = sparse.csr_matrix(
        (np.asarray(vals), np.asarray(cols, dtype=np.int64), np.asarray(indptr)), shape=(n, v)
    )
    xt = x.T.tocsr()
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0

    def loss(params: FloatArray) -> tuple[float, FloatArray]:
        w = params[: v * k].reshape(v, k)
        b = params[v * k :]
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        value = -(onehot * logp).sum() / n + 0.5 * l2 / n * float((w * w).sum())
        g = (np.exp(logp) - onehot) / n
        grad_w = xt @ g + l2 / n * w
        return value, np.concatenate([np.asarray(grad_w).ravel(), g.sum(axis=0)])

    start = np.zeros(v * k + k)
    result = optimize.minimize(
        loss, start, jac=True, method="L-BFGS-B", options={"maxiter": max_iter}
    )
    w = result.x[: v * k].reshape(v, k)
    b = result.x[v * k :]
    if v > keep:  # prune to the tokens that weigh most for any class
        strength = np.abs(w - w.mean(axis=1, keepdims=True)).max(axis=1)
        chosen = np.sort(np.argsort(-strength)[:keep])
        vocab = [vocab[i] for i in chosen]
        w = w[chosen]
    return TextModel({t: i for i, t in enumerate(vocab)}, w, b)
