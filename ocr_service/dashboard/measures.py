"""Measurements against the thresholds in force, as rows the pages show.

Pure functions over a record's stored measurements and the pipelines' configs: each
row says what was measured, the limit, and whether the value is inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.certificate.config import CertificateConfig
from pipelines.id_card.config import IdCardConfig


@dataclass(frozen=True)
class Check:
    key: str
    label: str
    value: str
    limit: str
    ok: bool | None  # None: informative, no threshold


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


_PATH_ZH = {
    "contour": "证件轮廓",
    "contour_coarse": "证件轮廓（缩小后查找，照片模糊）",
    "contour_blurred": "证件轮廓（缩小后在多个形状中查找，照片模糊）",
    "contour_small": "证件轮廓（放大后查找，证件过小）",
    "contour_inner": "证件轮廓（纸张内的小形状）",
    "text": "文字定位",
    "text_sparse": "文字定位（仅一两行）",
}


def _stage(m: Mapping[str, Any], name: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    record = (m.get("stages") or {}).get(name) or {}
    return record.get("measured") or {}, record.get("limits") or {}


def id_side_checks(m: Mapping[str, Any], cfg: IdCardConfig | None = None) -> list[Check]:
    """One side of an ID verification, from the stage records stored with it: each value
    beside the limit that was in force when it was measured (not today's setting).

    A capture check only rejects when a key field could not be read with confidence,
    so a value outside its limit on a side whose fields were read is informative."""
    read, _ = _stage(m, "read")
    capture, limits = _stage(m, "capture")
    rows: list[Check] = []
    if read.get("path"):
        rows.append(Check("path", "定位方式", _PATH_ZH.get(read["path"], read["path"]), "—", None))
    scores = read.get("field_scores")
    if isinstance(scores, Mapping) and scores and "min_field_confidence" in limits:
        lowest_field, lowest = min(
            ((k, _num(v) or 0.0) for k, v in scores.items()), key=lambda kv: kv[1]
        )
        limit = float(limits["min_field_confidence"])
        rows.append(
            Check(
                "field_confidence",
                f"关键字段识别置信度（最低：{lowest_field}）",
                _fmt(lowest, 3),
                f"≥ {limit:g}",
                lowest >= limit,
            )
        )
    for key, label, limit_key, digits in (
        ("sharpness", "文字笔画清晰度", "min_sharpness", 3),
        ("text_contrast", "文字对比度（灰阶）", "min_text_contrast", 1),
    ):
        if (v := _num(capture.get(key))) is not None and limit_key in limits:
            limit = float(limits[limit_key])
            rows.append(Check(key, label, _fmt(v, digits), f"≥ {limit:g}", v >= limit))
    fields = capture.get("glare_fields")
    if isinstance(fields, Mapping) and fields and "glare_field_fraction" in limits:
        worst_field, worst = max(
            ((k, _num(v) or 0.0) for k, v in fields.items()), key=lambda kv: kv[1]
        )
        limit = float(limits["glare_field_fraction"])
        rows.append(
            Check(
                "glare_fields",
                f"关键字段反光（最大：{worst_field}）",
                f"{worst:.1%}",
                f"< {limit:.0%}",
                worst < limit,
            )
        )
    if (v := _num(read.get("card_long_edge_px"))) is not None and "min_card_width_px" in limits:
        limit = float(limits["min_card_width_px"])
        rows.append(
            Check("card_long_edge_px", "证件长边（像素）", _fmt(v, 0), f"≥ {limit:g}", v >= limit)
        )
    if (v := _num(read.get("orientation_degrees"))) is not None:
        rows.append(Check("orientation_degrees", "证件方向（顺时针）", f"{v:.0f}°", "—", None))
    if capture.get("cut_edges"):
        rows.append(
            Check(
                "cut_edges", "超出画面的边", "、".join(map(str, capture["cut_edges"])), "无", False
            )
        )
    if (v := _num(capture.get("frame_brightness"))) is not None:
        rows.append(Check("frame_brightness", "整图亮度（未找到证件）", _fmt(v, 1), "—", None))
    passed = ((m.get("stages") or {}).get("capture") or {}).get("passed")
    if passed is not None:
        rows.append(
            Check("capture", "采集判定", "通过" if passed else "未通过", "关键字段可读", passed)
        )
    return rows


def _stage_limit(checks: Mapping[str, Any], key: str, default: float) -> float:
    """A limit as recorded by the stage that measured against it, else the setting now."""
    for stage in (checks.get("stages") or {}).values():
        limits = stage.get("limits") if isinstance(stage, Mapping) else None
        if isinstance(limits, Mapping) and (v := _num(limits.get(key))) is not None:
            return v
    return float(default)


def certificate_checks(checks: Mapping[str, Any], cfg: CertificateConfig) -> list[Check]:
    """A certificate scan: skew, orientation, blur, character height, blank page, size."""
    rows: list[Check] = []
    if (v := _num(checks.get("skew_degrees"))) is not None:
        rows.append(
            Check(
                "skew_degrees",
                "歪斜角度",
                f"{v:+.2f}°",
                f"|θ| ≤ {cfg.skew_reject_degrees:g}°",
                abs(v) <= cfg.skew_reject_degrees,
            )
        )
    if (v := _num(checks.get("orientation_degrees"))) is not None:
        rows.append(Check("orientation_degrees", "页面方向（顺时针）", f"{v:.0f}°", "0°", v == 0))
    if (v := _num(checks.get("edge_px"))) is not None:
        # the limit scales with the page's character height: the one in force for this page
        limit = _stage_limit(checks, "max_edge_px", cfg.blur_max_edge_px)
        rows.append(
            Check("edge_px", "模糊（文字边缘宽度，像素）", _fmt(v, 2), f"≤ {limit:g}", v <= limit)
        )
    if (v := _num(checks.get("char_height_px"))) is not None:
        limit = _stage_limit(checks, "min_char_height_px", cfg.min_char_height_px)
        rows.append(
            Check(
                "char_height_px", "字符高度（像素，分辨率）", _fmt(v, 1), f"≥ {limit:g}", v >= limit
            )
        )
    width, height = _num(checks.get("width")), _num(checks.get("height"))
    if width is not None and height is not None:
        # informative: resolution is judged by character height, not page size
        rows.append(Check("page_px", "页面尺寸（像素）", f"{width:.0f}×{height:.0f}", "—", None))
    if (v := _num(checks.get("ink_ratio"))) is not None:
        rows.append(
            Check(
                "ink_ratio",
                "墨迹占比（空白页检测）",
                f"{v:.3%}",
                f"> {cfg.blank_max_ink_ratio:.2%}",
                v > cfg.blank_max_ink_ratio,
            )
        )
    if (v := _num(checks.get("bytes"))) is not None:
        rows.append(
            Check(
                "bytes",
                "文件大小",
                f"{v / 2**20:.2f} MB",
                f"≤ {cfg.max_bytes / 2**20:.0f} MB",
                v <= cfg.max_bytes,
            )
        )
    return rows


def record_checks(
    record: Any, id_cfg: IdCardConfig, cert_cfg: CertificateConfig
) -> list[tuple[str, list[Check]]]:
    """(heading, rows) groups for a record: per side for ID verifications, one for certificates."""
    if record.kind == "certificate":
        merged = {**(record.checks or {}), **(record.measurements or {})}
        rows = certificate_checks(merged, cert_cfg)
        return [("", rows)] if rows else []
    groups = []
    for side, heading in (("front", "人像面"), ("back", "国徽面")):
        m = (record.measurements or {}).get(side)
        if isinstance(m, Mapping):
            rows = id_side_checks(m, id_cfg)
            if rows:
                groups.append((heading, rows))
    return groups
