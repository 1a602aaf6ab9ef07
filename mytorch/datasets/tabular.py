"""Your own data: a numeric CSV table or a NumPy ``.npz`` archive of features and labels."""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import numpy as np

from mytorch.validation import check_dtype, check_finite


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _as_class_indices(values: np.ndarray, where: str, what: str) -> np.ndarray:
    """Convert numeric labels to int64 class indices; they must be whole and >= 0."""
    if values.dtype.kind == "f":
        check_finite(values, where, name=what)
        if values.size and not np.all(values == np.round(values)):
            bad = values[values != np.round(values)][0]
            raise ValueError(f"{where}: {what} must be whole-number class indices, found {bad!r}")
    elif values.dtype.kind not in "iub":
        raise TypeError(f"{where}: {what} must be integer class indices, got dtype {values.dtype}")
    if values.size and values.min() < 0:
        raise ValueError(f"{where}: {what} must be class indices >= 0, found {values.min()!r}")
    return values.astype(np.int64)


def _resolve_label_column(
    label_column: int | str, names: list[str] | None, n_columns: int, where: str, path: Path
) -> int:
    if isinstance(label_column, str):
        if names is None:
            raise ValueError(
                f"{where}: label_column={label_column!r} is a name but {path} has no header "
                "row; pass the column's index instead, or header=True"
            )
        if label_column not in names:
            raise ValueError(
                f"{where}: {path} has no column named {label_column!r}; its columns are {names}"
            )
        return names.index(label_column)
    if isinstance(label_column, bool) or not isinstance(label_column, (int, np.integer)):
        raise TypeError(
            f"{where}: expected label_column to be a column index or name, got {label_column!r}"
        )
    if not -n_columns <= label_column < n_columns:
        raise ValueError(
            f"{where}: label_column={label_column} is out of range for {path}, which has "
            f"{n_columns} columns (valid: {-n_columns} to {n_columns - 1})"
        )
    return int(label_column) % n_columns


def load_csv(
    path: str | os.PathLike[str],
    label_column: int | str = -1,
    delimiter: str = ",",
    header: bool | str = "infer",
    *,
    dtype: np.dtype | type = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a numeric table: one sample per row, one column of integer class labels.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file. Blank lines are skipped; quoted cells are allowed.
    label_column : int or str
        The column holding the labels: an index (negative counts from the end, default
        the last column) or a header name.
    delimiter : str
        The cell separator, one character (``","``, ``";"``, ``"\\t"``).
    header : bool or 'infer'
        Whether the first row holds column names. ``'infer'``: it does if any of its
        cells is not a number.
    dtype : numpy dtype
        float64 (default) or float32, for the features.

    Returns
    -------
    X : numpy.ndarray
        The other columns, shape (N, D), ``dtype``.
    y : numpy.ndarray
        The labels, shape (N,), int64 (whole numbers >= 0 in the file, such as ``3`` or
        ``3.0``).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If the file has no data rows, rows of different lengths, a cell that is not a
        number (named by line and column), NaN/inf features, labels that are not whole
        numbers >= 0, or no such label column.
    TypeError
        If ``label_column`` is neither int nor str, or ``dtype`` is not a float dtype.

    Examples
    --------
    >>> X, y = load_csv("iris.csv", label_column="species")  # doctest: +SKIP
    """
    where = "load_csv"
    dtype = check_dtype(dtype, where)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{where}: no such file: {path}")
    if header not in (True, False, "infer"):
        raise ValueError(f"{where}: expected header True, False or 'infer', got {header!r}")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"{where}: expected delimiter to be one character, got {delimiter!r}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        rows, line_numbers = [], []
        for row in reader:
            if row and any(cell.strip() for cell in row):
                rows.append(row)
                line_numbers.append(reader.line_num)
    if not rows:
        raise ValueError(f"{where}: {path} has no rows")
    has_header = header is True or (
        header == "infer" and not all(_is_number(cell) for cell in rows[0])
    )
    names = [cell.strip() for cell in rows[0]] if has_header else None
    if has_header:
        rows, line_numbers = rows[1:], line_numbers[1:]
    if not rows:
        raise ValueError(f"{where}: {path} has a header but no data rows")
    n_columns = len(names) if names is not None else len(rows[0])
    for row, line in zip(rows, line_numbers, strict=True):
        if len(row) != n_columns:
            raise ValueError(
                f"{where}: line {line} of {path} has {len(row)} cells, expected {n_columns} "
                f"(check the delimiter {delimiter!r})"
            )
    if n_columns < 2:
        raise ValueError(
            f"{where}: {path} has {n_columns} column; expected features and a label column "
            f"(check the delimiter {delimiter!r})"
        )
    label_index = _resolve_label_column(label_column, names, n_columns, where, path)
    cells = np.array(rows, dtype=str)
    try:
        table = cells.astype(np.float64)
    except ValueError:
        # Find the first offending cell only on this failure path (a Python loop).
        for row, line in zip(rows, line_numbers, strict=True):
            for column, cell in enumerate(row):
                if not _is_number(cell):
                    name = f" ({names[column]!r})" if names else ""
                    raise ValueError(
                        f"{where}: cell {cell!r} at line {line}, column {column}{name} of "
                        f"{path} is not a number; features and labels must be numeric"
                    ) from None
        raise
    labels = table[:, label_index]
    features = np.delete(table, label_index, axis=1)
    check_finite(features, f"{where}: {path}", name="the feature columns")
    y = _as_class_indices(labels, f"{where}: {path}", "the label column")
    return features.astype(dtype, copy=False), y


def load_npz(
    path: str | os.PathLike[str], *, dtype: np.dtype | type = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Load features ``X`` and labels ``y`` from a NumPy ``.npz`` archive.

    Save one with ``np.savez(path, X=X, y=y)``. The archive is opened with
    ``allow_pickle=False``: a file can hold arrays only, never code to run.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file, with arrays named ``X`` and ``y`` (others are ignored).
    dtype : numpy dtype
        float64 (default) or float32, for the features.

    Returns
    -------
    X : numpy.ndarray
        Shape (N, ...) as stored (e.g. (N, D) or (N, 28, 28)), ``dtype``.
    y : numpy.ndarray
        Shape (N,), int64 class indices.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If the file is not an ``.npz`` archive, lacks ``X`` or ``y``, holds object
        (pickled) arrays, non-numeric or non-finite features, labels that are not whole
        numbers >= 0, or ``X`` and ``y`` of different lengths.

    Examples
    --------
    >>> X, y = load_npz("my_data.npz")  # doctest: +SKIP
    """
    where = "load_npz"
    dtype = check_dtype(dtype, where)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{where}: no such file: {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{where}: {path} is not an .npz archive; save one with np.savez(path, X=X, y=y)"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("X", "y") if key not in archive.files]
            if missing:
                raise ValueError(
                    f"{where}: {path} has no array named {' or '.join(map(repr, missing))}; "
                    f"it holds {archive.files}; save it with np.savez(path, X=X, y=y)"
                )
            X, y = archive["X"], archive["y"]
    except ValueError as err:
        if "allow_pickle" not in str(err):
            raise
        raise ValueError(
            f"{where}: {path} holds object (pickled) arrays, which are not loaded for "
            "safety; store numeric arrays only"
        ) from None
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{where}: X in {path} must be numeric, got dtype {X.dtype}")
    if X.ndim == 0 or y.ndim != 1:
        raise ValueError(
            f"{where}: expected X of shape (N, ...) and y of shape (N,) in {path}, got "
            f"X {X.shape} and y {y.shape}"
        )
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{where}: X in {path} has {X.shape[0]} samples but y has {y.shape[0]} labels"
        )
    X = X.astype(dtype, copy=False)
    check_finite(X, f"{where}: {path}", name="X")
    return X, _as_class_indices(y, f"{where}: {path}", "y")
