"""Use case: the prognostic calculator (``ilp predict``) on the registry database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ilpkit.stats.prediction_results import Prognosis
from ilpkit.stats.prognosis import DEFAULT_TERMS, PredictionError, calibration, predict

CALIBRATION_FORMATS = (".png", ".svg")


def predict_from_registry(
    url: str,
    values: Mapping[str, str | float | None],
    terms: Sequence[str] | None = None,
    calibration_plot: Path | None = None,
) -> Prognosis:
    """Predict overall survival and local recurrence for one patient from the registry at
    ``url`` (see :func:`ilpkit.stats.prognosis.predict`).

    Parameters
    ----------
    url : str
        Database URL of the registry.
    values : mapping
        Input name to value (``age_years``, ``tumor_size_cm``, ``histology``...).
    terms : sequence of str, optional
        Model terms; default: :data:`ilpkit.stats.prognosis.DEFAULT_TERMS`.
    calibration_plot : Path, optional
        Write the 5-year calibration plot there (``.png`` or ``.svg``) and add the
        calibration groups to the result.

    Raises
    ------
    PredictionError
        For a missing or out-of-range value, an unknown term or an unwritable plot file.
    """
    from ilpkit.services.outcome_analysis import load_registry

    if calibration_plot is not None and calibration_plot.suffix.lower() not in CALIBRATION_FORMATS:
        raise PredictionError(
            f"--calibration-plot must end in .png or .svg, not {calibration_plot.name!r}"
        )
    chosen = tuple(terms) if terms is not None else DEFAULT_TERMS
    loaded = load_registry(url)
    result = predict(loaded.frame, values, chosen, synthetic=loaded.synthetic)
    if calibration_plot is not None:
        cal = calibration(loaded.frame, chosen)
        result.calibration = cal
        from ilpkit.reporting import figures as figs

        with figs.figure_style():
            fig = figs.calibration_figure(cal, synthetic=loaded.synthetic)
            ext = calibration_plot.suffix.lower().lstrip(".")
            data = figs.save(fig, (ext,))[ext]
        try:
            calibration_plot.write_bytes(data)
        except OSError as exc:
            raise PredictionError(
                f"cannot write the calibration plot {str(calibration_plot)!r}: {exc.strerror}"
            ) from None
    return result
