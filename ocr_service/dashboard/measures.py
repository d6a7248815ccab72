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


def id_side_checks(m: Mapping[str, Any], cfg: IdCardConfig) -> list[Check]:
    """One side of an ID verification: blur, exposure, glare, card area, orientation."""
    rows: list[Check] = []
    if (v := _num(m.get("sharpness"))) is not None:
        rows.append(
            Check(
                "sharpness",
                "清晰度（拉普拉斯方差）",
                _fmt(v, 1),
                f"≥ {cfg.min_sharpness:g}",
                v >= cfg.min_sharpness,
            )
        )
    brightness = _num(m.get("brightness"))
    if brightness is None:
        brightness = _num(m.get("frame_brightness"))
    if brightness is not None:
        rows.append(
            Check(
                "brightness",
                "亮度（平均灰度）",
                _fmt(brightness, 1),
                f"{cfg.min_brightness:g} – {cfg.max_brightness:g}",
                cfg.min_brightness <= brightness <= cfg.max_brightness,
            )
        )
    clipped = _num(m.get("clipped_fraction"))
    if clipped is None:
        clipped = _num(m.get("frame_clipped_fraction"))
    if clipped is not None:
        rows.append(
            Check(
                "clipped_fraction",
                "过曝像素占比",
                f"{clipped:.1%}",
                f"≤ {cfg.max_clipped_fraction:.0%}",
                clipped <= cfg.max_clipped_fraction,
            )
        )
    if (v := _num(m.get("glare_fraction"))) is not None:
        rows.append(
            Check(
                "glare_fraction",
                "反光面积占比",
                f"{v:.1%}",
                f"< {cfg.glare_card_fraction:.0%}",
                v < cfg.glare_card_fraction,
            )
        )
    fields = m.get("glare_fields")
    if isinstance(fields, Mapping) and fields:
        worst_field, worst = max(
            ((k, _num(v) or 0.0) for k, v in fields.items()), key=lambda kv: kv[1]
        )
        rows.append(
            Check(
                "glare_fields",
                f"关键字段反光（最大：{worst_field}）",
                f"{worst:.1%}",
                f"< {cfg.glare_field_fraction:.0%}",
                worst < cfg.glare_field_fraction,
            )
        )
    if (v := _num(m.get("card_area_fraction"))) is not None:
        rows.append(
            Check(
                "card_area_fraction",
                "证件面积占比",
                f"{v:.1%}",
                f"≥ {cfg.min_card_area_fraction:.0%}",
                v >= cfg.min_card_area_fraction,
            )
        )
    if (v := _num(m.get("card_long_edge_px"))) is not None:
        rows.append(
            Check(
                "card_long_edge_px",
                "证件长边（像素）",
                _fmt(v, 0),
                f"≥ {cfg.min_card_width_px}",
                v >= cfg.min_card_width_px,
            )
        )
    if (v := _num(m.get("orientation_degrees"))) is not None:
        rows.append(Check("orientation_degrees", "证件方向（顺时针）", f"{v:.0f}°", "—", None))
    if m.get("cut_edges"):
        rows.append(
            Check("cut_edges", "超出画面的边", "、".join(map(str, m["cut_edges"])), "无", False)
        )
    return rows


def certificate_checks(checks: Mapping[str, Any], cfg: CertificateConfig) -> list[Check]:
    """A certificate scan: skew, orientation, blur, resolution, blank page, size."""
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
    if (v := _num(checks.get("blur_edge_px"))) is not None:
        rows.append(
            Check(
                "blur_edge_px",
                "模糊（文字边缘宽度，像素）",
                _fmt(v, 2),
                f"≤ {cfg.blur_max_edge_px:g}",
                v <= cfg.blur_max_edge_px,
            )
        )
    width, height = _num(checks.get("width")), _num(checks.get("height"))
    if width is not None and height is not None:
        short = min(width, height)
        rows.append(
            Check(
                "short_side",
                "短边（像素）",
                f"{short:.0f}（{width:.0f}×{height:.0f}）",
                f"≥ {cfg.min_short_side}",
                short >= cfg.min_short_side,
            )
        )
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
