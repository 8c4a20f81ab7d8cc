"""Base of the typed results models (:mod:`ilpkit.stats.results`, schema ``ilpkit.results/1``,
and :mod:`ilpkit.stats.prediction_results`, schema ``ilpkit.prediction/1``).

Conventions shared by both schemas: a missing or undefined number is ``null`` (never NaN), and
every 95% interval is a pair ``[lower, upper]`` whose limits are ``null`` where undefined.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

__all__ = ["CI95", "ResultsModel"]

CI95 = Annotated[
    tuple[float | None, float | None],
    Field(description="95% confidence interval [lower, upper]; a limit is null where undefined."),
]


class ResultsModel(BaseModel):
    """Base of the results models: unknown keys are refused; keys listed in
    ``absent_when_none`` are left out of the dump when ``None``."""

    model_config = ConfigDict(extra="forbid")

    absent_when_none: ClassVar[tuple[str, ...]] = ()
    #: Keys left out of the dump when they were never set (they may be set to ``None``).
    absent_when_unset: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _leave_out_absent(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ):  # no return annotation: the JSON schema of the dump stays the model's
        data = handler(self)
        if isinstance(data, dict):
            for key in self.absent_when_none:
                if data.get(key, 0) is None:
                    del data[key]
            for key in self.absent_when_unset:
                if key not in self.model_fields_set:
                    data.pop(key, None)
        return data
