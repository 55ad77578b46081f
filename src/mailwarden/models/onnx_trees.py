"""The compiled trees as an ONNX graph, scored by onnxruntime: the fast single-row path.

`CompiledTrees` (numpy) needs one vectorised pass over every split node plus one gather per
tree level: about 10 numpy calls and ~75-100 us per row for the default model on this machine.
onnxruntime's TreeEnsembleRegressor walks the same trees in C++ in one call (DESIGN.md
measured 18 us for 300 trees). The graph is written at training time (`to_onnx`, needs the
``onnx`` package: the `train` extra) and shipped beside the arrays; at scan time only
onnxruntime is needed (the `models` extra). Without it, or without the file, the numpy trees
score alone: both give the same raw scores (to float32 precision: onnxruntime sums in
float32), which the tests check on every row of a dataset.

Missing values: the engine never passes NaN (`ModelBundle.vector` refuses it), so the only
LightGBM rule to carry over is "zero counts as missing" (``missing_type`` Zero). Zeros are fed
as NaN when the model has such splits, and each node's ``missing_value_tracks_true`` says where
a zero goes: its default direction on a Zero split, ``0 <= threshold`` on any other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mailwarden.models.trees import _ZERO, CompiledTrees

FloatArray = npt.NDArray[np.float64]
INPUT, OUTPUT = "x", "raw"


def to_onnx(trees: CompiledTrees) -> bytes:
    """A serialized ONNX model computing `trees.raw` for a (1, n_features) float64 input."""
    from onnx import TensorProto, checker, helper, numpy_helper

    k = trees._splits
    nodes: dict[str, list[Any]] = {
        key: []
        for key in (
            "treeids",
            "nodeids",
            "featureids",
            "modes",
            "values",
            "truenodeids",
            "falsenodeids",
            "tracks",
        )
    }
    leaves: dict[str, list[Any]] = {key: [] for key in ("treeids", "nodeids", "ids", "weights")}
    for tree, root in enumerate(trees.roots.tolist()):
        order, stack = [], [root]
        while stack:  # depth-first, left child first: each tree's nodes numbered from 0
            node = stack.pop()
            order.append(node)
            if node < k:
                stack += [int(trees.right[node]), int(trees.left[node])]
        local = {node: i for i, node in enumerate(order)}
        for node in order:
            split = node < k
            threshold = float(trees.threshold[node]) if split else 0.0
            nodes["treeids"].append(tree)
            nodes["nodeids"].append(local[node])
            nodes["featureids"].append(int(trees.feature[node]) if split else 0)
            nodes["modes"].append("BRANCH_LEQ" if split else "LEAF")
            nodes["values"].append(threshold)
            nodes["truenodeids"].append(local[int(trees.left[node])] if split else 0)
            nodes["falsenodeids"].append(local[int(trees.right[node])] if split else 0)
            zero_is_missing = split and trees.missing[node] == 1
            zero_left = bool(trees.default_left[node]) if zero_is_missing else threshold >= 0.0
            nodes["tracks"].append(int(split and zero_left))
            if not split:
                leaves["treeids"].append(tree)
                leaves["nodeids"].append(local[node])
                leaves["ids"].append(tree % trees.n_classes)
                leaves["weights"].append(float(trees.value[node]))
    ensemble = helper.make_node(
        "TreeEnsembleRegressor",
        [INPUT],
        [OUTPUT],
        domain="ai.onnx.ml",
        n_targets=trees.n_classes,
        aggregate_function="SUM",
        post_transform="NONE",
        nodes_treeids=nodes["treeids"],
        nodes_nodeids=nodes["nodeids"],
        nodes_featureids=nodes["featureids"],
        nodes_modes=nodes["modes"],
        nodes_values_as_tensor=numpy_helper.from_array(np.asarray(nodes["values"]), "values"),
        nodes_truenodeids=nodes["truenodeids"],
        nodes_falsenodeids=nodes["falsenodeids"],
        nodes_missing_value_tracks_true=nodes["tracks"],
        target_treeids=leaves["treeids"],
        target_nodeids=leaves["nodeids"],
        target_ids=leaves["ids"],
        target_weights_as_tensor=numpy_helper.from_array(np.asarray(leaves["weights"]), "weights"),
    )
    graph = helper.make_graph(
        [ensemble],
        "mailwarden_trees",
        [helper.make_tensor_value_info(INPUT, TensorProto.DOUBLE, [1, trees.n_features])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [1, trees.n_classes])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]
    )
    model.ir_version = 8
    checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


class OnnxTrees:
    """Raw tree scores from an ONNX graph made by `to_onnx` (raises ImportError without
    onnxruntime, RuntimeError-like onnxruntime errors on a damaged graph)."""

    def __init__(self, data: bytes, trees: CompiledTrees) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one message per call: threads only cost here
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        self._outputs = [OUTPUT]
        self._zero_missing = trees._zero_missing
        self.n_features = trees.n_features
        self.n_classes = trees.n_classes

    def raw(self, x: FloatArray) -> FloatArray:
        row = x.reshape(1, -1)
        if self._zero_missing:
            row = np.where(np.abs(row) <= _ZERO, np.nan, row)
        scores = self._session.run(self._outputs, {INPUT: row})[0][0]
        result: FloatArray = scores.astype(np.float64)
        return result
