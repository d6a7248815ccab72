"""Card outline and capture quality on generated photos with known ground truth."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from pipelines.id_card import IdCardConfig, Side
from pipelines.id_card.outline import detect_card_outline, order_corners, rectify_card
from pipelines.id_card.quality import (
    glare_mask,
    glare_over_fields,
    outline_edge_sharpness,
    region_pixels,
    stroke_sharpness,
    text_contrast,
)
from pipelines.io import decode_image
from samples.id_card.identities import identities
from samples.id_card.photo import PhotoSpec, photograph
from samples.id_card.render import back_layout, front_layout, render_back, render_front

CONFIG = IdCardConfig()
IDENTITY = identities(11, 1)[0]
FRONT = render_front(IDENTITY)
BACK = render_back(IDENTITY)


def shoot(spec: PhotoSpec, card: np.ndarray = FRONT):
    layout = front_layout(IDENTITY) if card is FRONT else back_layout(IDENTITY)
    data, truth = photograph(card, spec, layout)
    return decode_image(data, max_long_side=CONFIG.decode_long_side), truth


def rectified(spec: PhotoSpec) -> np.ndarray:
    image, _ = shoot(spec)
    outline = detect_card_outline(image.pixels)
    assert outline.found and not outline.cut_edges
    return rectify_card(image.pixels, outline.corners, width=856, height=540)


@pytest.mark.parametrize(
    ("background", "rotation", "hand"),
    list(itertools.product(["wood", "fabric", "paper", "dark"], [0, 90, 180, 270], [False, True]))[
        ::3
    ],
)
def test_corners_found_on_cluttered_backgrounds(background: str, rotation: int, hand: bool) -> None:
    image, truth = shoot(
        PhotoSpec(
            seed=rotation + len(background),
            background=background,
            rotation=rotation,
            hand=hand,
            tilt=0.04,
            skew_deg=4,
        )
    )
    outline = detect_card_outline(image.pixels)
    assert outline.found and not outline.cut_edges
    expected = np.array(truth.corners) * image.scale
    # the long edge is always TL->TR; which end is "top" is orientation's business
    error = min(np.abs(np.roll(outline.corners, k, axis=0) - expected).max() for k in (0, 2))
    assert error < 0.02 * truth.card_long_side_px


@pytest.mark.parametrize("edge", ["left", "right", "top", "bottom"])
def test_card_cut_by_the_frame_names_the_edge(edge: str) -> None:
    image, truth = shoot(PhotoSpec(seed=3, background="dark", out_of_frame=edge))
    outline = detect_card_outline(image.pixels)
    assert outline.found and outline.cut_edges == truth.out_of_frame == (edge,)


def test_no_card_is_not_found() -> None:
    for background in ("wood", "fabric", "dark"):
        image, _ = shoot(PhotoSpec(seed=5, background=background, show_card=False))
        assert not detect_card_outline(image.pixels).found


def test_order_corners_puts_the_long_edge_first() -> None:
    tall = np.array([[10, 10], [60, 10], [60, 90], [10, 90]], np.float32)  # card standing up
    ordered = order_corners(tall[[2, 0, 3, 1]])
    assert np.linalg.norm(ordered[1] - ordered[0]) > np.linalg.norm(ordered[3] - ordered[0])


def _text_boxes(card: np.ndarray, engine) -> list[np.ndarray]:
    return [box * (856 / 512) for box in engine.detect(cv2.resize(card, (512, 323)))]


def test_more_blur_never_raises_stroke_sharpness(ocr_engine) -> None:
    sharp = rectified(PhotoSpec(seed=8, background="dark"))
    boxes = _text_boxes(sharp, ocr_engine)  # the same text regions for every blur level
    scores = []
    for sigma in (0.0, 1.5, 3.0, 5.0):
        card = rectified(PhotoSpec(seed=8, background="dark", defocus=sigma))
        scores.append(stroke_sharpness(cv2.cvtColor(card, cv2.COLOR_BGR2GRAY), boxes))
    assert scores == sorted(scores, reverse=True)
    assert scores[0] >= CONFIG.min_sharpness > scores[-1]


def test_motion_blur_lowers_stroke_sharpness_though_one_direction_stays_crisp(
    ocr_engine,
) -> None:
    sharp = rectified(PhotoSpec(seed=8, background="dark"))
    smeared = rectified(PhotoSpec(seed=8, background="dark", motion=30, motion_angle=0))
    boxes = _text_boxes(sharp, ocr_engine)
    gray = [cv2.cvtColor(c, cv2.COLOR_BGR2GRAY) for c in (sharp, smeared)]
    assert stroke_sharpness(gray[0], boxes) >= CONFIG.min_sharpness > stroke_sharpness(
        gray[1], boxes
    )


def test_a_blurred_card_is_soft_at_its_border_and_a_sharp_one_is_not() -> None:
    """The outline's own edges in the photo: crisp for a sharp capture, soft for defocus and
    for motion blur (which softens only the edges across its direction: the softest counts)."""
    sharp, _ = shoot(PhotoSpec(seed=8, background="dark"))
    corners = detect_card_outline(sharp.pixels).corners
    measured = {}
    for label, spec in (
        ("sharp", PhotoSpec(seed=8, background="dark")),
        ("defocus", PhotoSpec(seed=8, background="dark", defocus=3.0)),
        ("motion", PhotoSpec(seed=8, background="dark", motion=30, motion_angle=0)),
    ):
        image, _ = shoot(spec)
        gray = cv2.cvtColor(image.pixels, cv2.COLOR_BGR2GRAY)
        measured[label] = outline_edge_sharpness(gray, corners)
    assert all(edges >= 3 for _, edges in measured.values()), measured
    assert measured["sharp"][0] >= CONFIG.border_min_sharpness, measured
    assert measured["defocus"][0] < CONFIG.border_min_sharpness, measured
    assert measured["motion"][0] < CONFIG.border_min_sharpness, measured


def test_text_contrast_follows_exposure_not_card_brightness() -> None:
    region = (0.3, 0.78, 0.95, 0.95)  # the number
    contrasts = {
        gain: text_contrast(
            cv2.cvtColor(
                region_pixels(rectified(PhotoSpec(seed=9, background="wood", gain=gain)), region),
                cv2.COLOR_BGR2GRAY,
            )
        )[0]
        for gain in (0.07, 1.0, 1.3)
    }
    # a bright card in strong light keeps its contrast; the dark photo has lost it
    assert contrasts[0.07] < CONFIG.min_text_contrast < contrasts[1.3] <= contrasts[1.0] + 40


def test_washed_out_photo_is_overexposed_and_a_bright_one_is_fine(ocr_engine) -> None:
    from pipelines.id_card.pipeline import inspect_side
    from pipelines.io import encode_jpeg

    washed, _ = shoot(PhotoSpec(seed=9, background="wood", gain=2.8, lift=90.0))
    inspection = inspect_side(encode_jpeg(washed.pixels), Side.FRONT, ocr_engine, CONFIG)
    assert [r.code.value for r in inspection.reasons] == ["OVEREXPOSED"]
    bright, _ = shoot(PhotoSpec(seed=9, background="paper", gain=1.3))
    inspection = inspect_side(encode_jpeg(bright.pixels), Side.FRONT, ocr_engine, CONFIG)
    assert inspection.reasons == []
    assert inspection.measurements["stages"]["capture"]["measured"]["confident"] is True


def test_glare_is_located_on_the_field_it_covers() -> None:
    card = rectified(
        PhotoSpec(seed=10, background="dark", glare_field="id_number", glare_strength=1.4)
    )
    mask = glare_mask(card)
    fields = glare_over_fields(mask, Side.FRONT)
    # the card may have been rectified upside down; glare sits on the number either way
    flipped = glare_over_fields(mask[::-1, ::-1], Side.FRONT)
    best = max((fields, flipped), key=lambda f: f["id_number"])
    assert best["id_number"] >= CONFIG.glare_field_fraction
    assert best["name"] < CONFIG.glare_field_fraction
