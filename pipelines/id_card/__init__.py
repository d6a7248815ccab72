"""Resident ID card auto-verification (实名认证): two photos and a declaration in,
a verified/rejected answer with reasons the candidate can act on out."""

from pipelines.id_card.config import IdCardConfig
from pipelines.id_card.pipeline import verify_id_card
from pipelines.id_card.result import Declaration, IdVerification, Reason, ReasonCode, Side

__all__ = [
    "Declaration",
    "IdCardConfig",
    "IdVerification",
    "Reason",
    "ReasonCode",
    "Side",
    "verify_id_card",
]
