"""Thresholds of the ID-card pipeline, in one frozen config (unknown keys are an error)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RiskPolicy = Literal["warn", "reject", "manual_review"]


class RiskConfig(BaseModel):
    """Capture-risk signals (pipelines.id_card.risks): what each flag does, and the
    thresholds the signals compare against."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    screen_recapture: RiskPolicy = Field("reject", description="screenshot or photo of a screen")
    photocopy: RiskPolicy = Field("reject", description="greyscale or colour copy of the card")
    edited_image: RiskPolicy = Field(
        "warn", description="editor metadata or repainted text (metadata is easily stripped)"
    )
    temporary_id: RiskPolicy = Field("manual_review", description="临时居民身份证")
    portrait: RiskPolicy = Field(
        "manual_review",
        description="an empty portrait region, two faces or more in it, or a figure with no "
        "face (an object, a landscape; shape findings only recorded)",
    )
    multiple_cards: RiskPolicy = Field("reject", description="several cards in one photo")
    covered_field: RiskPolicy = Field("reject", description="a finger or object over a key field")
    flag_confidence: float = Field(0.5, description="a signal at or above this confidence flags")
    signal_flag_confidence: dict[str, float] = Field(
        default_factory=lambda: {"SCREEN_RECAPTURE": 0.6, "PHOTOCOPY": 0.8},
        description="per-signal flag thresholds over flag_confidence: a screen peak at "
        "screen_peak_threshold gives 0.6; genuine captures reached 0.696 (copy) on 412 sides, "
        "greyscale copies 0.91-1.0",
    )
    screen_peak_threshold: float = Field(
        2.25,
        description="log-magnitude excess of a pixel grid's spectral peak that flags: a luma "
        "peak finer than print (>= 0.34 cycles/px) or luma and chroma peaking together (tune "
        "halves: genuine sides up to 2.13 on 816, screen photos from 2.27)",
    )
    screen_ripple_threshold: float | None = Field(
        4.0,
        description="colour moire: RMS of the band-passed chroma of the card's paper that does "
        "not follow its lightness (a card wholly inside the photo) at or above which it is a "
        "photo of a screen (every capture of 2030 + 2031, good and defective: 1.91 at most on "
        "834 judged sides; other attacks 1.75 at most; the 5 screen photos of attack seeds "
        "3001 + 3002 that the spectral peak missed: 7.8-14.0); None turns it off",
    )
    copy_min_chroma: float = Field(
        2.5,
        description="95th percentile of chromaticity spread around the light's cast (x300) "
        "below which: a copy",
    )
    edit_noise_ratio: float = Field(
        0.3, description="a field's paper noise below this share of the others': repainted"
    )
    cover_min_share: float = Field(
        0.07,
        description="share of a key field, not read with confidence, under a solid non-paper "
        "blob (a finger, an object) that flags",
    )
    region_min_read_score: float = Field(
        0.8,
        description="the portrait and emblem checks judge a side only when its key fields "
        "(name and number, authority and validity) read at this confidence: the card then "
        "lies where it was rectified (held-out defective captures: cut-off, dark or washed-out "
        "fronts looked blank otherwise; every blank-portrait attack read both)",
    )

    portrait_faces_enabled: bool = Field(
        True,
        description="look for faces in the portrait region (BlazeFace short range, "
        "models/registry.toml [bundled.face], ~2 ms): two or more flag PORTRAIT several_faces "
        "(two-faces attacks 20/20 on seeds 2026 and 2027, 0 of 742 genuine fronts), none "
        "no_face (portrait_no_face_score); a model that cannot be loaded skips both findings "
        "with a logged warning",
    )
    portrait_face_score: float = Field(
        0.5,
        description="BlazeFace score (after sigmoid, before non-maximum suppression at IoU "
        "0.3) from which a face counts",
    )
    portrait_no_face_score: float | None = Field(
        0.4,
        description="PORTRAIT no_face: a figure (not empty) whose best BlazeFace score stays "
        "under this flags, an object or a landscape in place of the photo (objects 0.04-0.30 "
        "on seeds 2026 and 2027, 40/40 flagged; genuine fronts 0.71 and more, 0 of 1,462 "
        "flagged); None turns the finding off",
    )
    portrait_min_region_px: float = Field(
        96.0,
        description="no_face is judged only where the portrait region is at least this tall "
        "in the original photo's pixels (genuine faces kept BlazeFace scores of 0.7 and more "
        "down to ~50 rows, twice the margin)",
    )
    read_back_title: bool = Field(
        True,
        description="recognise the emblem side's title line for 临时 (one more recognition on "
        "the back, ~15 ms p50; with the band widened under the emblem it found 20 of 20 "
        "simulated temporary backs on both seeds, none on 1,460 genuine sides)",
    )

    def policy(self, code: str) -> RiskPolicy:
        return getattr(self, str(code).lower())


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
    outline_coarse_long_side: int = Field(
        200,
        description="when nothing of a card was found, the outline search once more at this "
        "size, where a defocused card's edges are sharp again",
    )
    outline_coarse_min_score: float = Field(
        0.6,
        description="card-likeness at or above which that coarse outline is read (it must also "
        "hold a block the text detector found; tune sets: no photo without a card reached 0.6)",
    )
    small_card_long_side: int = Field(
        1280,
        description="when nothing of a card was read, the outline search once more at this "
        "size for a small card-shaped outline with print inside (a card held too far away, "
        "which larger shapes on a desk outscore at outline_long_side)",
    )
    blurred_card_long_side: int = Field(
        320,
        description="when nothing of a card was read, card-shaped outlines of a readable size "
        "are searched at this size, where a defocused card's edge is sharp again",
    )
    blurred_card_min_score: float = Field(
        0.55,
        description="card-likeness at or above which such an outline is read (and, if its "
        "strokes are soft, called blurred); development sets: 62 of 67 blurred sides 0.56 and "
        "up, the two soft outlines on 161 sides without a card 0.45 and 0.51",
    )
    border_min_sharpness: float = Field(
        0.2,
        description="steepness of an outline's own border (softest measured edge) at or above "
        "which an outline where nothing was read is not called blurred, and under which a tiny "
        "one with soft print is not called too small (a shape inside a blurred card): a blurred "
        "card is as soft at its border as in its print. Development sets: 41 blurred cards read "
        "as nothing 0.13 at most (all but one 0.08 or less); 4 sheets without a card 0.30-0.45",
    )
    card_width_px: int = Field(856, description="canonical card image width (10 px per mm)")
    card_height_px: int = Field(540, description="canonical card image height")
    ocr_width_px: int = Field(
        512, description="the rectified card is scaled to this width for text detection"
    )
    locate_long_side: int = Field(
        640, description="text detection on the whole photo (text-anchored localisation) size"
    )
    locate_fine_long_side: int = Field(
        1600,
        description="second, finer text detection when the first found no card at all (a card "
        "held far away). The detector caps what it sees at OcrConfig.det_limit_side_len (960), "
        "so this pass runs at 960 px in effect: a true 1600-2000 px pass (limit raised) took "
        "0.6-1.7 s per side and still found no line of 4 of 6 missed too-small cards",
    )
    min_field_confidence: float = Field(
        0.8,
        description="recogniser confidence at or above which a key field counts as read: a side "
        "whose key fields all reach it is never rejected for capture quality",
    )
    name_unsure_below: float = Field(
        0.98,
        description="name-line confidence below which a name that differs from the declared one "
        "is read again from other crops before it is called a mismatch (rare characters)",
    )
    name_min_log_likelihood_ratio: float = Field(
        -15.0,
        description="an unsure name line supports the declared name when the recogniser finds "
        "it at most e^15 times less likely than its own reading (CTC; tune halves: misread "
        "rare characters -1.8 to -9.1 (琍 read 利), declared names that differ -19.3 and "
        "below, mostly -27.6)",
    )
    min_card_width_px: int = Field(
        500,
        description="card's long edge in the original photo below which the candidate is "
        "asked to move closer (too small to read reliably, even where it was read)",
    )
    min_sharpness: float = Field(
        0.37,
        description="stroke sharpness on text regions (steepest gradient over ink contrast) "
        "below which unreadable text is blamed on blur",
    )
    min_text_contrast: float = Field(
        30.0,
        description="ink-to-paper contrast (grey levels) of a key field below which unreadable "
        "text is blamed on exposure (too dark or overexposed, by the field's brightness)",
    )
    faded_text_contrast: float = Field(
        25.0,
        description="ink-to-paper contrast below which a side is too dark or overexposed even "
        "where the recogniser read its key fields (tune halves: such sides 11.5-15.5 grey "
        "levels, the faintest good side 36.5)",
    )
    overexposed_min_brightness: float = Field(
        180.0,
        description="mean grey of a card whose print faded below which the cause is not "
        "overexposure (tune halves: overexposed cards 246-253)",
    )
    dark_max_brightness: float = Field(
        80.0,
        description="mean grey of a card whose print faded above which the cause is not "
        "darkness (tune halves: dark cards 3-16); in between, faded print is blur or no card",
    )
    min_brightness: float = Field(
        45.0, description="photo with no card or text found: mean luminance below which: too dark"
    )
    max_clipped_fraction: float = Field(
        0.5,
        description="photo with no card or text found: share of clipped white above which: "
        "overexposed",
    )
    max_frame_brightness: float = Field(
        230.0,
        description="photo with no card or text found: mean luminance at or above which: "
        "overexposed (tune sets: photos without a card 196 at most, washed-out photos 242+)",
    )
    glare_field_fraction: float = Field(
        0.06,
        description="share of an unreadable key field covered by specular glare: blamed on glare "
        "(a spot over a short name covers little of the field's region: glare defects 0.095 "
        "and up; 0.1 called two of them TEXT_UNREADABLE)",
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
    risks: RiskConfig = Field(
        default_factory=RiskConfig, description="capture-risk signals and their policies"
    )
