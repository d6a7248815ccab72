# ruff: noqa: E501  (messages are long Chinese sentences)
"""What each reason tells the work unit, in Simplified Chinese, with the measured values."""

from __future__ import annotations

from typing import Any

from pipelines.certificate.result import CertReason, CertReasonCode

_MESSAGES: dict[CertReasonCode, str] = {
    CertReasonCode.EMPTY_FILE: "文件为空（0 字节），可能上传中断或文件已损坏，请重新上传该文件。",
    CertReasonCode.UNSUPPORTED_FORMAT: "文件格式不受支持：仅接受 png、jpg、jpeg 格式的图片，请另存为 JPG 或 PNG 后重新上传。",
    CertReasonCode.FILE_TOO_LARGE: "文件大小为 {size_mb:.2f} MB，超过 {limit_mb:.0f} MB 上限，请压缩或降低分辨率后重新上传。",
    CertReasonCode.CORRUPT_IMAGE: "图片文件已损坏或无法读取，请重新扫描或导出后上传。",
    CertReasonCode.BAD_FILENAME: "文件名不符合“姓名+身份证号+证书名称+第几页”的格式（如：张三+420102199003071234+医师资格证+1.jpg），请改名后上传。",
    CertReasonCode.FILENAME_ID_INVALID: "文件名中的身份证号 {id_masked} 无效（{problem_zh}），请核对后改名上传。",
    CertReasonCode.UNKNOWN_CERTIFICATE_TYPE: "文件名中的证书名称“{certificate_type}”不在可接受的证书类型中，请使用规定的证书名称（如：学历证书、学位证书、医师资格证、医师执业证、护士执业证等）。",
    CertReasonCode.SKEWED: "图片歪斜约 {angle:.1f}°（允许不超过 {limit:.0f}°），请摆正后重新扫描或使用自动纠正版本。",
    CertReasonCode.UPSIDE_DOWN: "图片上下颠倒，请旋转 180° 后上传或使用自动纠正版本。",
    CertReasonCode.SIDEWAYS: "图片方向横置（需{direction}旋转 90°），请旋转为正向后上传或使用自动纠正版本。",
    CertReasonCode.BLANK_PAGE: "图片为空白页，请确认扫描的是证书正确页面。",
    CertReasonCode.LOW_RESOLUTION: "图片分辨率过低：文字高度约 {char_px:.0f} 像素，至少需要 {minimum:.0f} 像素才能看清字迹，请以更高分辨率（建议 200 dpi 以上）重新扫描。",
    CertReasonCode.BLURRY: "图片模糊：文字笔画边缘宽约 {edge_px:.1f} 像素（字高 {char_px:.0f} 像素时应不超过 {limit_px:.1f} 像素），请对焦清晰后重新扫描或拍摄。",
    CertReasonCode.DUPLICATE: "与本批次中的文件“{duplicate_of}”是同一张图片，请删除重复文件或上传正确的页面。",
    CertReasonCode.NAME_NOT_ON_DOCUMENT: "在证书内容中未识别到文件名中的姓名“{name_masked}”，请确认证书与持证人一致。",
    CertReasonCode.TEXT_NOT_FOUND: "图片中未识别到文字（只有图案或照片），请确认上传的是证书页面。",
    CertReasonCode.CERTIFICATE_TYPE_MISMATCH: "文件名写的是“{filename_type}”，但图片内容是“{page_type}”，请核对证书类型后改名或上传正确的证书。",
    CertReasonCode.ID_NUMBER_MISMATCH: "证书上的身份证号 {page_id_masked} 与文件名中的身份证号 {id_masked} 不一致，请核对后重新上传。",
    CertReasonCode.ARCHIVE_UNSAFE_PATH: "压缩包内文件路径不安全（含 .. 或绝对路径），已拒绝处理，请直接打包文件本身。",
    CertReasonCode.ARCHIVE_SYMLINK: "压缩包内的符号链接不受支持，已拒绝处理，请放入图片文件本身。",
    CertReasonCode.ARCHIVE_BAD_NAME: "压缩包内文件名含非法字符或过长，已拒绝处理，请按规则改名后重新打包。",
    CertReasonCode.ARCHIVE_ENCRYPTED: "压缩包内文件已加密，无法读取，请去掉密码后重新打包。",
    CertReasonCode.ARCHIVE_NESTED: "压缩包内不能再嵌套压缩包，请解压后将图片直接打包。",
    CertReasonCode.ARCHIVE_UNSUPPORTED_COMPRESSION: "压缩包内文件使用了不支持的压缩方式，请用标准 ZIP（Deflate）格式重新打包。",
    CertReasonCode.ARCHIVE_MEMBER_TOO_LARGE: "压缩包内文件过大，已拒绝处理，请压缩图片后重新打包。",
    CertReasonCode.ARCHIVE_BOMB: "压缩包结构或压缩比异常（疑似压缩炸弹），已拒绝处理。",
    CertReasonCode.ARCHIVE_TOO_LARGE: "压缩包解压后总大小超过上限，其余文件未处理，请分批上传。",
    CertReasonCode.ARCHIVE_TOO_MANY_FILES: "压缩包内文件数超过上限，超出部分未处理，请分批上传。",
    CertReasonCode.ARCHIVE_MEMBER_CORRUPT: "压缩包内文件已损坏，无法读取，请重新打包。",
    CertReasonCode.PROCESSING_FAILED: "文件无法处理，请重新扫描后上传。",
    CertReasonCode.MANUAL_REVIEW_REJECTED: "人工审核未通过。",
}

_ID_PROBLEMS = {
    "length": "位数不是 18 位",
    "characters": "含有非法字符",
    "checksum": "校验位错误",
    "birth_date": "出生日期不存在",
    "region": "地区码无效",
    "birth_date_or_region": "出生日期或地区码无效",
}


def reason(code: CertReasonCode, *, warning: bool = False, **detail: Any) -> CertReason:
    """Build a reason; ``detail`` fills the message template and is kept for operators."""
    values = dict(detail)
    if "problem" in values:
        values["problem_zh"] = _ID_PROBLEMS.get(str(values["problem"]), "号码无效")
    try:
        message = _MESSAGES[code].format(**values)
    except (KeyError, ValueError, IndexError):  # a caller left a value out: say less, not wrong
        message = _MESSAGES[code].split("（")[0].split("，")[0] + "。"
    return CertReason(code, message, detail, warning)
