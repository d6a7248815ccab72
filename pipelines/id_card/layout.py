"""Where things are on a second-generation resident ID card.

Regions are fractions of the card (x0, y0, x1, y1), measured from the ID-1
card (85.6 x 54 mm) with generous margins; they name the field that glare
covers, and break ties when the OCR text alone cannot.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipelines.id_card.result import Side

Region = tuple[float, float, float, float]

FIELD_REGIONS: dict[Side, dict[str, Region]] = {
    Side.FRONT: {
        "name": (0.04, 0.06, 0.62, 0.24),
        "sex_ethnicity": (0.04, 0.20, 0.62, 0.36),
        "birth": (0.04, 0.32, 0.62, 0.48),
        "address": (0.04, 0.44, 0.62, 0.76),
        "id_number": (0.04, 0.76, 0.98, 0.96),
        "photo": (0.60, 0.06, 0.96, 0.76),
    },
    Side.BACK: {
        "emblem": (0.03, 0.04, 0.30, 0.42),
        "title": (0.28, 0.04, 0.98, 0.46),
        "issuing_authority": (0.10, 0.62, 0.98, 0.80),
        "validity": (0.10, 0.78, 0.98, 0.96),
    },
}

# Names the candidate reads in a retake hint.
FIELD_NAMES_ZH: dict[str, str] = {
    "name": "姓名",
    "sex_ethnicity": "性别民族",
    "birth": "出生日期",
    "address": "住址",
    "id_number": "号码",
    "photo": "照片",
    "emblem": "国徽",
    "title": "标题",
    "issuing_authority": "签发机关",
    "validity": "有效期限",
}

KEY_FIELDS: dict[Side, tuple[str, ...]] = {
    Side.FRONT: ("name", "id_number", "birth", "sex_ethnicity"),
    Side.BACK: ("issuing_authority", "validity"),
}

# The portrait side's labels sit in a fixed column at fixed rows (fractions of the
# card): a detected box wholly left of the column edge is a label, named by its row.
FRONT_LABEL_COLUMN = 0.19
FRONT_LABEL_ROWS: dict[str, float] = {
    "姓名": 0.17,
    "性别": 0.29,
    "出生": 0.41,
    "住址": 0.535,
    "公民身份号码": 0.86,
}

# Rows below the address's first line and above the number: the address continues there.
ADDRESS_CONTINUATION = (0.585, 0.76)


def front_label_at(y_fraction: float) -> str:
    """The label printed nearest to this height on the portrait side."""
    return min(FRONT_LABEL_ROWS, key=lambda label: abs(FRONT_LABEL_ROWS[label] - y_fraction))


def card_to_photo(corners: np.ndarray, rotated_180: bool, points: np.ndarray) -> np.ndarray:
    """Photo pixels of points given as fractions (x, y) of the upright card, for a card
    whose ``corners`` (TL, TR, BR, BL) run in the photo's order: when the reading turned
    the card by 180 degrees, the upright card's top-left is the photo's bottom-right."""
    fractions = np.asarray(points, np.float32).reshape(-1, 2)
    if rotated_180:
        fractions = 1.0 - fractions
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    warp = cv2.getPerspectiveTransform(unit, np.asarray(corners, np.float32))
    return cv2.perspectiveTransform(fractions.reshape(1, -1, 2), warp)[0]
