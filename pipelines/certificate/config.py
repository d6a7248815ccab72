"""Thresholds and budgets of the certificate pipeline: one frozen object, unknown keys refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CertificateConfig(BaseModel):
    """Every limit the certificate checks apply. Frozen; a typo in a key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # the platform's rules
    max_bytes: int = Field(default=3 * 1024 * 1024, ge=1, description="FILE_TOO_LARGE above this")
    allowed_extensions: tuple[str, ...] = ("png", "jpg", "jpeg")
    skew_reject_degrees: float = Field(
        default=2.0, gt=0, description="SKEWED when |skew| exceeds it"
    )
    # decoding safety
    max_pixels: int = Field(default=40_000_000, ge=1, description="header pixel cap (bombs)")
    # image quality
    min_short_side: int = Field(
        default=1000,
        ge=1,
        description="the automatic fix never scales a page's short side below this",
    )
    min_char_height_px: float = Field(
        default=12.0,
        gt=0,
        description="LOW_RESOLUTION when the median character height (from the detector's "
        "line boxes, in original pixels) is below it: 12x12 px is the smallest dot-matrix "
        "in which every GB 2312 hanzi stays distinct; 5-hao text (10.5 pt) reaches it at 82 dpi",
    )
    blank_max_ink_ratio: float = Field(
        default=0.0015, ge=0, le=1, description="BLANK_PAGE when less of the page is ink"
    )
    blur_max_edge_ratio: float = Field(
        default=0.155,
        gt=0,
        description="BLURRY when stroke edges inside the text lines (working pixels, each "
        "edge's own contrast over its steepest step, median over the edges, the worse of "
        "across and along the lines) are wider than this share of the character height, "
        "bounded by the two limits below; a sharp edge rises in about one pixel",
    )
    blur_min_edge_px: float = Field(
        default=2.0, gt=0, description="small type: edges up to this width always pass"
    )
    blur_max_edge_px: float = Field(
        default=3.0, gt=0, description="large type: edges wider than this always fail"
    )
    blur_no_text_max_edge_px: float = Field(
        default=3.5,
        gt=0,
        description="no text detected: BLURRY when the ink's edges over the whole page "
        "(page contrast over the steepest gradients) are wider than this, at 1280 px",
    )
    skew_min_confidence: float = Field(
        default=1.15,
        ge=1.0,
        description="profile peak over its mean below which the page has no lines to measure",
    )
    # OCR budget
    work_long_side: int = Field(default=1200, ge=320, description="page size for skew, blur, crops")
    work_min_long_side: int = Field(
        default=850, ge=320, description="JPEGs are decoded at a DCT scale no smaller than this"
    )
    detect_long_side: int = Field(default=448, ge=256, description="page size the detector sees")
    orientation_sample_lines: int = Field(default=8, ge=1, description="lines the classifier sees")
    min_orientation_lines: int = Field(default=2, ge=1, description="fewer: orientation unknown")
    orientation_min_confidence: float = Field(default=0.6, ge=0, le=1)
    orientation_recheck_lines: int = Field(
        default=6,
        ge=0,
        description="fewer text lines along the page's axis: the detector looks again at the "
        "page turned a quarter (it misses text running down a page); 0 never looks again",
    )
    name_check_budget_px: int = Field(
        default=3000,
        ge=0,
        description="at most this much text-line width (at 48 px height) is recognised per page "
        "looking for the holder's name; 0 turns the name check off",
    )
    name_not_on_document_rejects: bool = False
    read_budget_px: int = Field(
        default=1400,
        ge=0,
        description="text-line width (at 48 px height) recognised to classify the page and "
        "find its ID number; 0 turns both off",
    )
    type_mismatch_rejects: bool = Field(
        default=False, description="CERTIFICATE_TYPE_MISMATCH rejects instead of warning"
    )
    id_number_mismatch_rejects: bool = Field(
        default=False, description="ID_NUMBER_MISMATCH rejects instead of warning"
    )
    # duplicates
    duplicate_max_distance: int = Field(
        default=40, ge=0, le=1024, description="Hamming distance of 1024-bit perceptual hashes"
    )
    duplicate_max_thumbnail_diff: float = Field(
        default=2.25, ge=0, le=15, description="largest local grey-level difference of copies"
    )
    # certificate names
    extra_certificate_types_file: str | None = None
    # fixing
    fix_jpeg_quality: int = Field(default=90, ge=40, le=100)
    fix_min_jpeg_quality: int = Field(default=60, ge=20, le=100)
