# ruff: noqa: E501  (messages are long Chinese sentences)
"""What each reason tells the work unit, in Simplified Chinese, with the measured values."""

from __future__ import annotations

from typing import Any

from pipelines.certificate.result import CertReason, CertReasonCode

_MESSAGES: dict[CertReasonCode, str] = {
    CertReasonCode.UNSUPPORTED_FORMAT: "文件格式不受支持：仅接受 png、jpg、jpeg 格式的图片，请另存为 JPG 或 PNG 后重新上传。",
    CertReasonCode.FILE_TOO_LARGE: "文件大小为 {size_mb:.2f} MB，超过 {limit_mb:.0f} MB 上限，请压缩或降低分辨率后重新上传。",
    CertReasonCode.CORRUPT_IMAGE: "图片文件已损坏或无法读取，请重新扫描或导出后上传。",
    CertReasonCode.BAD_FILENAME: "文件名不符合“姓名+身份证号+证书名称+第几页”的格式（如：张三+420102199003071234+医师资格证+1.jpg），请改名后上传。",
    CertReasonCode.FILENAME_ID_INVALID: "文件名中的身份证号 {id_masked} 无效（{problem_zh}），请核对后改名上传。",
    CertReasonCode.UNKNOWN_CERTIFICATE_TYPE: "文件名中的证书名称“{certificate_type}”不在可接受的证书类型中，请使用规定的证书名称（如：学历证书、学位证书、医师资格证、医师执业证、护士执业证等）。",
    CertReasonCode.SKEWED: "图片歪斜约 {angle:.1f}°（允许不超过 {limit:.0f}°），请摆正后重新扫描或使用自动纠正版本。",
    CertReasonCode.UPSIDE_DOWN: "图片上下颠倒，请旋转 180° 后上传或使用自动纠正版本。",
    CertReasonCode.SIDEWAYS: "图片方向横置（需{direction}旋转 90°），请旋转为正向后上传或使用自动纠正版本。",
    CertReasonCode.BLANK_PAGE: "图片为空白页或未检测到任何文字，请确认扫描的是证书正确页面。",
    CertReasonCode.LOW_RESOLUTION: "图片分辨率过低（短边 {short_side} 像素，至少需要 {minimum} 像素，约相当于 A4 纸 120 dpi），打印或放大后文字无法辨认，请以更高分辨率重新扫描。",
    CertReasonCode.BLURRY: "图片模糊（文字边缘宽约 {edge_px:.1f} 像素，应不超过 {limit:.1f}），请对焦清晰后重新扫描或拍摄。",
    CertReasonCode.DUPLICATE: "与本批次中的文件“{duplicate_of}”是同一张图片，请删除重复文件或上传正确的页面。",
    CertReasonCode.NAME_NOT_ON_DOCUMENT: "在证书内容中未识别到文件名中的姓名“{name_masked}”，请确认证书与持证人一致。",
}

_ID_PROBLEMS = {
    "length": "位数不是 18 位",
    "characters": "含有非法字符",
    "checksum": "校验位错误",
    "birth_date": "出生日期不存在",
    "region": "地区码无效",
    "birth_date_or_region": "出生日期或地区码无效",
}


def reason(code: CertReasonCode, **detail: Any) -> CertReason:
    """Build a reason; ``detail`` fills the message template and is kept for operators."""
    values = dict(detail)
    if "problem" in values:
        values["problem_zh"] = _ID_PROBLEMS.get(str(values["problem"]), "号码无效")
    try:
        message = _MESSAGES[code].format(**values)
    except (KeyError, ValueError, IndexError):  # a caller left a value out: say less, not wrong
        message = _MESSAGES[code].split("（")[0].split("，")[0] + "。"
    return CertReason(code, message, detail)
