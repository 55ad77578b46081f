"""Training data: time-ordered replay of the labelled corpora into a Parquet dataset of signal
vectors, with the corpora's fingerprints neutralised and leak-free splits.

    dataset      build_dataset(out, root, ...): replay, label, write Parquet
    fingerprints Neutralizer: remove each collector's marks from the raw bytes
    check        fingerprint_check: can a classifier still tell the source from the headers?
    schema       FeatureSchema: the versioned, hashed signal set written into the dataset
    splits       time_split / source_split: duplicates on one side, no peeking at the future

pyarrow and LightGBM (the `train` extra) are imported only where used.
"""
