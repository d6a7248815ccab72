"""What the candidate reads: one Simplified-Chinese sentence per reason, saying what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.id_card.result import Reason, ReasonCode, Side

if TYPE_CHECKING:
    from pipelines.id_card.risks import RiskSignal

SIDE_ZH = {Side.FRONT: "人像面", Side.BACK: "国徽面", None: "身份证"}
EDGE_ZH = {"left": "左侧", "right": "右侧", "top": "上方", "bottom": "下方"}

_TEMPLATES: dict[ReasonCode, str] = {
    ReasonCode.CARD_NOT_FOUND: "未检测到{side}，请将身份证{side}置入轮廓中，在深色背景上重新拍摄",
    ReasonCode.CARD_INCOMPLETE: "{side}未完整拍入（{where}超出画面），请将身份证置入轮廓中重新拍摄",
    ReasonCode.CARD_TOO_SMALL: "{side}在照片中太小，请将手机靠近身份证，使证件占满轮廓后重新拍摄",
    ReasonCode.BLURRY: "{side}照片模糊，请保持手机稳定、对焦清晰后重新拍摄",
    ReasonCode.GLARE: "{side}{where}反光，请调整角度、避开灯光直射后重新拍摄",
    ReasonCode.TOO_DARK: "{side}照片过暗，请在光线充足处重新拍摄",
    ReasonCode.OVEREXPOSED: "{side}照片过曝，请避开强光、关闭闪光灯后重新拍摄",
    ReasonCode.WRONG_SIDE: "{where}",
    ReasonCode.TEXT_UNREADABLE: "{side}{where}无法识别，请确保证件清晰、无遮挡后重新拍摄",
    ReasonCode.NAME_MISMATCH: "身份证上的姓名与您填写的姓名不一致，请核对后重新填写",
    ReasonCode.ID_NUMBER_MISMATCH: "身份证号码与您填写的号码不一致（{where}），请核对后重新填写",
    ReasonCode.ID_NUMBER_INVALID: "{where}",
    ReasonCode.FIELDS_INCONSISTENT: "{where}，请确认证件真实有效，或转人工审核",
    ReasonCode.EXPIRED: "身份证已过有效期（{where}），请使用有效证件，或转人工审核",
    ReasonCode.ATTEMPTS_EXCEEDED: "今日认证失败次数已达上限，请明日再试或提交人工审核",
    ReasonCode.SCREEN_RECAPTURE: "{side}疑似翻拍屏幕或截图，请拍摄身份证原件后重新上传",
    ReasonCode.PHOTOCOPY: "{side}疑似复印件，请拍摄身份证原件后重新上传",
    ReasonCode.EDITED_IMAGE: "{side}疑似经过修图软件处理，请上传未经编辑的身份证原件照片",
    ReasonCode.TEMPORARY_ID: "检测到临时居民身份证，将转人工审核，请耐心等待审核结果",
    ReasonCode.PORTRAIT: "{side}人像照片{where}，请拍摄本人身份证原件后重新上传",
    ReasonCode.MULTIPLE_CARDS: "照片中有多张证件，请每次只拍摄一张身份证的{side}",
    ReasonCode.COVERED_FIELD: "{side}{where}被遮挡，请移开手指或遮挡物后重新拍摄",
}


def message_for(code: ReasonCode, side: Side | None = None, where: str = "") -> str:
    return _TEMPLATES[code].format(side=SIDE_ZH[side], where=where)


def wrong_side_message(expected: Side) -> str:
    uploaded = SIDE_ZH[Side.BACK if expected is Side.FRONT else Side.FRONT]
    return f"{SIDE_ZH[expected]}位置上传的是{uploaded}，请按提示分别上传身份证人像面和国徽面"


def reason(code: ReasonCode, side: Side | None = None, where: str = "", **detail: Any) -> Reason:
    """A reason with its standard message; ``detail`` carries the measured values."""
    return Reason(code, side, message_for(code, side, where), detail)


# Why a portrait was flagged, in the candidate's words.
_PORTRAIT_ZH = {
    "empty": "缺失",
    "not_a_portrait": "无法识别为人像",
    "several_faces": "中有多张人脸",
}

# Messages for risks routed to manual review (the service tells the candidate).
MANUAL_REVIEW_MESSAGES: dict[str, str] = {
    "TEMPORARY_ID": "检测到临时居民身份证，已转人工审核，请耐心等待审核结果",
    "PORTRAIT": "身份证人像照片需人工核验，已转人工审核，请耐心等待审核结果",
}
MANUAL_REVIEW_DEFAULT = "您的证件需人工核验，已转人工审核，请耐心等待审核结果"


def risk_reason(signal: RiskSignal, side: Side) -> Reason:
    """The rejection reason for a flagged capture risk whose policy is ``reject``."""
    code = ReasonCode(signal.code.value)
    where = ""
    if code is ReasonCode.COVERED_FIELD:
        where = "、".join(signal.evidence.get("fields_zh") or ["关键信息"]) + "区域"
    elif code is ReasonCode.PORTRAIT:
        where = _PORTRAIT_ZH.get(str(signal.evidence.get("finding")), "异常")
    return reason(code, side, where, confidence=round(signal.confidence, 3))
