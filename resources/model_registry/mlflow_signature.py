"""The signature a registered model is logged with: its input columns and the output callers use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.models.signature import ModelSignature


def model_output(model: Any, rows: pd.DataFrame) -> pd.Series:
    """What callers take from ``model`` on ``rows``: a classifier's positive-class probability, else predict.

    A binary classifier's ``predict_proba`` column 1 is the probability that the label is 1 (an up move);
    a regressor's ``predict`` is the forecast return.
    """
    import pandas as pd

    if hasattr(model, "predict_proba"):
        probabilities = model.predict_proba(rows)
        if probabilities.ndim != 2 or probabilities.shape[1] != 2:
            raise ValueError(
                f"expected a binary classifier (2 probability columns), got shape {probabilities.shape}"
            )
        return pd.Series(probabilities[:, 1], name="probability", index=rows.index)
    return pd.Series(model.predict(rows), name="prediction", index=rows.index)


def model_signature(model: Any, input_example: pd.DataFrame) -> ModelSignature:
    """The signature inferred from ``input_example`` and :func:`model_output` on it."""
    from mlflow.models import infer_signature

    if input_example.empty:
        raise ValueError("the input example must have at least one row")
    return infer_signature(input_example, model_output(model, input_example))
