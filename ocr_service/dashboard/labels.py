"""Chinese names for the codes the dashboard shows (codes themselves stay in English)."""

from __future__ import annotations

from pipelines.certificate.result import CertReasonCode
from pipelines.id_card.result import ReasonCode

ID_REASONS: dict[str, str] = {
    ReasonCode.CARD_NOT_FOUND: "未检测到证件",
    ReasonCode.CARD_INCOMPLETE: "证件未完整拍入",
    ReasonCode.CARD_TOO_SMALL: "证件在照片中太小",
    ReasonCode.BLURRY: "照片模糊",
    ReasonCode.GLARE: "反光",
    ReasonCode.TOO_DARK: "照片过暗",
    ReasonCode.OVEREXPOSED: "照片过曝",
    ReasonCode.WRONG_SIDE: "正反面错误",
    ReasonCode.TEXT_UNREADABLE: "文字无法识别",
    ReasonCode.NAME_MISMATCH: "姓名不一致",
    ReasonCode.ID_NUMBER_MISMATCH: "身份证号不一致",
    ReasonCode.ID_NUMBER_INVALID: "身份证号无效",
    ReasonCode.FIELDS_INCONSISTENT: "证件信息不一致",
    ReasonCode.EXPIRED: "证件已过期",
    ReasonCode.SCREEN_RECAPTURE: "屏幕翻拍或截图",
    ReasonCode.PHOTOCOPY: "复印件",
    ReasonCode.EDITED_IMAGE: "图片经过编辑",
    ReasonCode.TEMPORARY_ID: "临时居民身份证",
    ReasonCode.PORTRAIT: "人像异常",
    ReasonCode.MULTIPLE_CARDS: "照片中有多张证件",
    ReasonCode.COVERED_FIELD: "关键字段被遮挡",
    ReasonCode.ATTEMPTS_EXCEEDED: "失败次数超限",
    "MANUAL_REVIEW_REJECTED": "人工审核未通过",
}

CERTIFICATE_REASONS: dict[str, str] = {
    CertReasonCode.UNSUPPORTED_FORMAT: "格式不支持",
    CertReasonCode.FILE_TOO_LARGE: "文件过大",
    CertReasonCode.CORRUPT_IMAGE: "图片损坏",
    CertReasonCode.BAD_FILENAME: "文件名不规范",
    CertReasonCode.FILENAME_ID_INVALID: "文件名身份证号无效",
    CertReasonCode.UNKNOWN_CERTIFICATE_TYPE: "证书名称未知",
    CertReasonCode.SKEWED: "图片歪斜",
    CertReasonCode.UPSIDE_DOWN: "上下颠倒",
    CertReasonCode.SIDEWAYS: "方向横置",
    CertReasonCode.BLANK_PAGE: "空白页",
    CertReasonCode.LOW_RESOLUTION: "分辨率过低",
    CertReasonCode.BLURRY: "图片模糊",
    CertReasonCode.DUPLICATE: "重复文件",
    CertReasonCode.NAME_NOT_ON_DOCUMENT: "证书中未找到姓名",
    CertReasonCode.EMPTY_FILE: "空文件",
    CertReasonCode.TEXT_NOT_FOUND: "未找到文字",
    CertReasonCode.CERTIFICATE_TYPE_MISMATCH: "证书类型与文件名不符",
    CertReasonCode.ID_NUMBER_MISMATCH: "证书上身份证号与文件名不符",
    CertReasonCode.ARCHIVE_UNSAFE_PATH: "压缩包路径不安全",
    CertReasonCode.ARCHIVE_SYMLINK: "压缩包含符号链接",
    CertReasonCode.ARCHIVE_BAD_NAME: "压缩包文件名无效",
    CertReasonCode.ARCHIVE_ENCRYPTED: "压缩包已加密",
    CertReasonCode.ARCHIVE_NESTED: "压缩包内嵌压缩包",
    CertReasonCode.ARCHIVE_UNSUPPORTED_COMPRESSION: "压缩方式不支持",
    CertReasonCode.ARCHIVE_MEMBER_TOO_LARGE: "压缩包内文件过大",
    CertReasonCode.ARCHIVE_BOMB: "压缩炸弹",
    CertReasonCode.ARCHIVE_TOO_LARGE: "压缩包过大",
    CertReasonCode.ARCHIVE_TOO_MANY_FILES: "压缩包文件过多",
    CertReasonCode.ARCHIVE_MEMBER_CORRUPT: "压缩包内文件损坏",
    CertReasonCode.PROCESSING_FAILED: "文件无法处理",
    CertReasonCode.MANUAL_REVIEW_REJECTED: "人工审核未通过",
}

REASONS_BY_KIND: dict[str, dict[str, str]] = {
    "id_verification": {str(k): v for k, v in ID_REASONS.items()},
    "certificate": {str(k): v for k, v in CERTIFICATE_REASONS.items()},
}

KINDS = {"id_verification": "身份证认证", "certificate": "证书检查"}

DOCUMENT_TYPES = {
    "resident_id_card": "居民身份证",
    "resident_id_card_manual": "居民身份证（人工审核）",
    "passport": "护照",
    "hk_macau_permit": "港澳通行证",
    "hmt_residence_permit": "港澳台居民居住证",
    "certificate": "证书",
}

STATUSES = {
    "verified": "认证成功",
    "accepted": "通过",
    "rejected": "拒绝",
    "locked": "已锁定",
    "failed": "处理失败",
    "pending_review": "待认证",
    "withdrawn": "已撤回",
    "expired": "已过期",
}

VERDICTS = {"correct": "拒绝正确", "false_rejection": "误拒"}

SIDES = {"front": "人像面", "back": "国徽面", None: ""}


def reason_label(code: str) -> str:
    for names in REASONS_BY_KIND.values():
        if code in names:
            return names[code]
    return code


def all_reason_codes() -> list[tuple[str, str]]:
    """(code, label) for the filter menu, ID codes first; a code shared by both kinds once."""
    seen: dict[str, str] = {}
    for names in REASONS_BY_KIND.values():
        for code, label in names.items():
            seen.setdefault(code, label)
    return list(seen.items())
