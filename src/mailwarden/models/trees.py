"""Gradient-boosted trees compiled to flat numpy arrays: a fast single-row predict, no LightGBM.

LightGBM's own `Booster.predict` on one row costs tens to hundreds of microseconds in Python
overhead, and needs LightGBM installed where the engine runs. `CompiledTrees` reads a model
dump (`Booster.dump_model()`) once and scores one row with a handful of vectorised numpy
operations over *all* trees at once:

1. every split node compares its feature with its threshold (one gather, one compare), which
   gives each node its next node (`where(go_left, left, right)`); leaves point to themselves;
2. starting from the roots, `node = next[node]` is repeated `depth` times (one gather each);
3. the leaves' values are summed per class.

Missing values follow LightGBM's rules (`missing_type` None: NaN counts as 0; NaN: NaN goes the
node's default way; Zero: 0 and NaN go the default way), so raw scores agree with LightGBM to
float precision (tests check this). `contributions` gives per-feature path contributions for one
class (Saabas: each split on the path adds the change in the expected value it caused), which
sum with the bias to the raw score: the attribution the model detector reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_ZERO = 1e-35  # LightGBM's kZeroThreshold


@dataclass(frozen=True)
class CompiledTrees:
    n_features: int
    n_classes: int  # trees per iteration (1 for binary / regression)
    feature: IntArray  # per node; 0 for leaves
    threshold: FloatArray  # per node; +inf for leaves (always "left" = itself)
    left: IntArray  # per node; a leaf points to itself
    right: IntArray
    value: FloatArray  # leaf value, or the internal node's expected value
    default_left: npt.NDArray[np.bool_]
    missing: npt.NDArray[np.int8]  # 0 None, 1 Zero, 2 NaN
    roots: IntArray  # one per tree, trees in LightGBM order (iteration-major)
    depth: int
    _splits: int = field(init=False, repr=False, compare=False)  # split nodes come first
    _leaf_self: IntArray = field(init=False, repr=False, compare=False)
    _zero_missing: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = np.arange(len(self.left))
        leaf = self.left == index
        splits = int((~leaf).sum())
        if leaf[:splits].any():
            raise ValueError("tree arrays must list split nodes before leaves")
        object.__setattr__(self, "_splits", splits)
        object.__setattr__(self, "_leaf_self", index[splits:])
        object.__setattr__(self, "_zero_missing", bool((self.missing[:splits] == 1).any()))

    # --- building --------------------------------------------------------------------------

    @classmethod
    def from_dump(cls, dump: dict[str, Any]) -> CompiledTrees:
        """From `Booster.dump_model()` (numerical splits only)."""
        n_classes = int(dump.get("num_tree_per_iteration", 1))
        n_features = int(dump["max_feature_idx"]) + 1
        feature: list[int] = []
        threshold: list[float] = []
        left: list[int] = []
        right: list[int] = []
        value: list[float] = []
        default_left: list[bool] = []
        missing: list[int] = []
        roots: list[int] = []
        depth = 0

        def add(node: dict[str, Any], level: int) -> int:
            nonlocal depth
            index = len(feature)
            feature.append(0)
            threshold.append(np.inf)
            left.append(index)
            right.append(index)
            default_left.append(True)
            missing.append(0)
            if "leaf_value" in node or "split_feature" not in node:
                value.append(float(node.get("leaf_value", 0.0)))
                depth = max(depth, level)
                return index
            if node.get("decision_type", "<=") != "<=":
                raise ValueError(f"unsupported split {node.get('decision_type')!r} (categorical?)")
            value.append(float(node.get("internal_value", 0.0)))
            feature[index] = int(node["split_feature"])
            threshold[index] = float(node["threshold"])
            default_left[index] = bool(node.get("default_left", True))
            missing[index] = _MISSING[str(node.get("missing_type", "None"))]
            left[index] = add(node["left_child"], level + 1)
            right[index] = add(node["right_child"], level + 1)
            return index

        for tree in dump["tree_info"]:
            roots.append(add(tree["tree_structure"], 0))
        if not roots:
            raise ValueError("the model has no trees")
        if len(roots) % n_classes:
            raise ValueError(f"{len(roots)} trees is not a multiple of {n_classes} classes")
        # Split nodes first, leaves after: scoring then compares only the split nodes.
        lefts = np.asarray(left, dtype=np.int64)
        is_leaf = lefts == np.arange(len(lefts))
        order = np.r_[np.flatnonzero(~is_leaf), np.flatnonzero(is_leaf)]
        new = np.empty_like(order)
        new[order] = np.arange(len(order))
        return cls(
            n_features=n_features,
            n_classes=n_classes,
            feature=np.asarray(feature, dtype=np.int64)[order],
            threshold=np.asarray(threshold, dtype=np.float64)[order],
            left=new[lefts[order]],
            right=new[np.asarray(right, dtype=np.int64)[order]],
            value=np.asarray(value, dtype=np.float64)[order],
            default_left=np.asarray(default_left, dtype=np.bool_)[order],
            missing=np.asarray(missing, dtype=np.int8)[order],
            roots=new[np.asarray(roots, dtype=np.int64)],
            depth=depth,
        )

    def to_arrays(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "threshold": self.threshold,
            "left": self.left,
            "right": self.right,
            "value": self.value,
            "default_left": self.default_left,
            "missing": self.missing,
            "roots": self.roots,
            "shape": np.asarray([self.n_features, self.n_classes, self.depth], dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Any) -> CompiledTrees:
        n_features, n_classes, depth = (int(v) for v in arrays["shape"])
        trees = cls(
            n_features=n_features,
            n_classes=n_classes,
            feature=np.asarray(arrays["feature"], dtype=np.int64),
            threshold=np.asarray(arrays["threshold"], dtype=np.float64),
            left=np.asarray(arrays["left"], dtype=np.int64),
            right=np.asarray(arrays["right"], dtype=np.int64),
            value=np.asarray(arrays["value"], dtype=np.float64),
            default_left=np.asarray(arrays["default_left"], dtype=np.bool_),
            missing=np.asarray(arrays["missing"], dtype=np.int8),
            roots=np.asarray(arrays["roots"], dtype=np.int64),
            depth=depth,
        )
        trees.validate()
        return trees

    def validate(self) -> None:
        """Raise ValueError unless the arrays make a well-formed forest (a damaged file)."""
        n = len(self.feature)
        arrays = (self.threshold, self.left, self.right, self.value, self.default_left)
        if any(len(a) != n for a in (*arrays, self.missing)):
            raise ValueError("tree arrays differ in length")
        if n == 0 or len(self.roots) == 0 or len(self.roots) % max(self.n_classes, 1):
            raise ValueError("no trees, or a tree count that does not match the classes")
        for a in (self.left, self.right, self.roots):
            if a.min() < 0 or a.max() >= n:
                raise ValueError("a tree points outside its node arrays")
        if self.feature.min() < 0 or self.feature.max() >= self.n_features:
            raise ValueError("a split reads a feature the model does not have")
        if not np.isfinite(self.value).all():
            raise ValueError("a tree holds a non-finite value")

    # --- scoring -----------------------------------------------------------------------------

    def step(self, x: FloatArray) -> IntArray:
        """Each node's next node for row `x` (leaves point to themselves): computed once per
        row and shared by `raw` and `contributions`."""
        k = self._splits
        feature, threshold = self.feature[:k], self.threshold[:k]
        xv = x[feature]
        go_left = xv <= threshold
        if self._zero_missing or np.isnan(xv).any():
            missing = self.missing[:k]
            nan = np.isnan(xv)
            as_missing = ((missing == 2) & nan) | (
                (missing == 1) & (nan | (np.abs(np.nan_to_num(xv)) <= _ZERO))
            )
            as_zero = (missing == 0) & nan
            go_left = np.where(as_zero, threshold >= 0.0, go_left)
            go_left = np.where(as_missing, self.default_left[:k], go_left)
        step = np.where(go_left, self.left[:k], self.right[:k])
        result: IntArray = np.concatenate((step, self._leaf_self))
        return result

    def leaves(self, x: FloatArray, step: IntArray | None = None) -> IntArray:
        """The leaf each tree sends row `x` (float64, n_features) to."""
        step = self.step(x) if step is None else step
        node = self.roots
        for _ in range(self.depth):
            node = step[node]
        return node

    def raw(self, x: FloatArray, step: IntArray | None = None) -> FloatArray:
        """Raw scores (one per class): what LightGBM's `predict(raw_score=True)` returns."""
        values = self.value[self.leaves(x, step)]
        result: FloatArray = values.reshape(-1, self.n_classes).sum(axis=0)
        return result

    def raw_batch(self, x: FloatArray) -> FloatArray:
        """Raw scores for many rows (n, n_features) -> (n, n_classes)."""
        return np.vstack([self.raw(row) for row in np.asarray(x, dtype=np.float64)])

    def contributions(
        self, x: FloatArray, cls: int, step: IntArray | None = None
    ) -> tuple[float, FloatArray]:
        """(bias, per-feature contributions) to class `cls`'s raw score for row `x`; they sum
        to `raw(x)[cls]`."""
        step = self.step(x) if step is None else step
        roots = self.roots[cls :: self.n_classes]
        path = [roots]
        node = roots
        for _ in range(self.depth):
            node = step[node]
            path.append(node)
        nodes = np.vstack(path)  # (depth + 1, trees)
        parents, children = nodes[:-1].ravel(), nodes[1:].ravel()
        delta = self.value[children] - self.value[parents]
        contrib = np.bincount(
            self.feature[parents], weights=delta, minlength=self.n_features
        ).astype(np.float64)
        bias = float(self.value[roots].sum())
        return bias, contrib
