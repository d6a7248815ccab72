"""Thresholds of the ID-card pipeline, in one frozen config (unknown keys are an error)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IdCardConfig(BaseModel):
    """Every number the ID pipeline compares against. Shown on the QA settings page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_pixels: int = Field(
        40_000_000, description="decompression-bomb cap, checked before decoding"
    )
    decode_long_side: int = Field(
        2000, description="photos are decoded at most this large (JPEG DCT scaling when possible)"
    )
    outline_long_side: int = Field(640, description="the outline search runs at this size")
    card_width_px: int = Field(856, description="canonical card image width (10 px per mm)")
    card_height_px: int = Field(540, description="canonical card image height")
    ocr_width_px: int = Field(
        512, description="the rectified card is scaled to this width for text detection"
    )
    min_card_width_px: int = Field(
        480, description="card's long edge in the original photo, below which text is too small"
    )
    min_card_area_fraction: float = Field(
        0.12, description="card area over frame area, below which the candidate must move closer"
    )
    min_sharpness: float = Field(
        60.0,
        description="variance of the Laplacian of the rectified card, below which it is blurry",
    )
    min_brightness: float = Field(70.0, description="mean luminance (0-255) below which: too dark")
    max_brightness: float = Field(225.0, description="mean luminance above which: overexposed")
    max_clipped_fraction: float = Field(
        0.35, description="fraction of the card at full white above which: overexposed"
    )
    glare_field_fraction: float = Field(
        0.2, description="share of a key field (name, number) covered by specular glare: reject"
    )
    glare_card_fraction: float = Field(
        0.08, description="share of the whole card covered by specular glare: reject"
    )
    parallel_sides: bool = Field(
        True, description="inspect front and back concurrently (pair with OCR threads=1)"
    )
    read_full_address: bool = Field(
        False,
        description="read every address line; by default only the first, since results show "
        "the address masked to its first characters and nothing else needs it (data minimisation)",
    )
    min_text_score: float = Field(
        0.5, description="recognition confidence below which a line is ignored"
    )
    expiry_timezone: str = Field("Asia/Shanghai", description="'today' for the validity period")
