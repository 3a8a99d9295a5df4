"""Survey results per template: reach, answers, the score distribution, average and CSAT."""

from __future__ import annotations

from typing import Any

from hub.errors import RequestError
from storage.uow import UnitOfWork


def summarize(sent: int, answered: int, scores: list[int]) -> dict[str, Any]:
    """The results document from raw counts and scores (pure)."""
    distribution = {str(n): scores.count(n) for n in range(1, 6)}
    rated = len(scores)
    return {
        "sent": sent,
        "answered": answered,
        "rated": rated,
        "distribution": distribution,
        "average": round(sum(scores) / rated, 2) if rated else None,
        "csat": round(sum(1 for s in scores if s >= 4) / rated, 4) if rated else None,
    }


async def survey_results(uow: UnitOfWork, client_id: str, template_id: str) -> dict[str, Any]:
    """Results for one of the client's templates."""
    async with uow:
        if await uow.templates.get(template_id, client_id) is None:
            raise RequestError("template_not_found", f"no template {template_id}", status=404)
        sent, answered, scores = await uow.inbound.survey(client_id, template_id)
    return {"template_id": template_id, **summarize(sent, answered, scores)}
