"""Capture-risk signals on inputs made here (no OCR): metadata, temporary-card text,
screenshots, copies, portraits, covered fields, policies and the result surface."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from pipelines.id_card import risks
from pipelines.id_card.config import IdCardConfig, RiskConfig
from pipelines.id_card.messages import risk_reason
from pipelines.id_card.result import IdVerification, ReasonCode, Side
from pipelines.id_card.risks import (
    RiskCode,
    check_portrait,
    count_cards,
    detect_covered_field,
    detect_edited_image,
    detect_photocopy,
    detect_screen_recapture,
    detect_temporary_id,
    portrait,
    read_metadata,
)
from pipelines.ocr import TextLine


def _jpeg(pixels: np.ndarray, **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels[:, :, ::-1]).save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


def _line(text: str) -> TextLine:
    return TextLine(text, 0.99, np.zeros((4, 2), np.float32))


def _card(rng: np.random.Generator, *, colour: bool = True, waves: bool = True) -> np.ndarray:
    """A 856x540 card: tinted guilloche waves, a red disc, dark text bars, a figure."""
    h, w = 540, 856
    y, x = np.mgrid[0:h, 0:w]
    card = np.empty((h, w, 3), np.float32)
    card[:] = (238, 236, 230)
    if waves:
        lines = (np.sin(x / 9.0 + 3 * np.sin(y / 40.0)) > 0.6)[..., None]
        card = np.where(lines, card - np.array([10, 35, 45] if colour else [30, 30, 30]), card)
    cv2.circle(card, (120, 110), 70, (40, 40, 200) if colour else (90, 90, 90), -1)
    for row in (0.17, 0.29, 0.41, 0.535, 0.86):
        cv2.rectangle(card, (40, int(row * h) - 8), (480, int(row * h) + 8), (30, 30, 30), 2)
    # a head-and-shoulders figure in the portrait region
    portrait = card[54:400, 535:813]  # the portrait region, as printed on the card
    cv2.ellipse(portrait, (139, 346), (139, 110), 0, 180, 360, (60, 70, 90), -1)
    cv2.ellipse(portrait, (139, 150), (60, 80), 0, 0, 360, (120, 150, 200), -1)
    card += rng.normal(0, 2.0, card.shape)
    return np.clip(card, 0, 255).astype(np.uint8)


# --- metadata and edited images -----------------------------------------------------


def test_editor_in_exif_software_is_metadata_evidence() -> None:
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 25.4 (Windows)"
    data = _jpeg(np.full((64, 64, 3), 200, np.uint8), exif=exif.tobytes())
    signal = detect_edited_image(data, None, None)
    assert signal.code is RiskCode.EDITED_IMAGE
    assert signal.confidence >= 0.5
    assert signal.evidence["metadata_editor"].startswith("exif_software")
    assert signal.evidence["pixel_field"] is None


def test_editor_in_xmp_creator_tool_is_found() -> None:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        'xmp:CreatorTool="美图秀秀"/></rdf:RDF></x:xmpmeta>'
    ).encode()
    data = _jpeg(np.full((64, 64, 3), 200, np.uint8), xmp=xmp)
    assert read_metadata(data)["xmp_creator_tool"] == "美图秀秀"
    assert detect_edited_image(data, None, None).confidence >= 0.5


def test_camera_exif_alone_is_not_an_edit() -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "HUAWEI", "ELS-AN00", "ELS-AN00 4.0.0"
    data = _jpeg(np.full((64, 64, 3), 200, np.uint8), exif=exif.tobytes())
    assert detect_edited_image(data, None, None).confidence == 0.0


def test_repainted_field_is_pixel_evidence() -> None:
    rng = np.random.default_rng(1)
    card = _card(rng).astype(np.float32)
    card += rng.normal(0, 4.0, card.shape)  # a noisy sensor everywhere...
    card[int(0.06 * 540) : int(0.24 * 540), 20 : int(0.62 * 856)] = 236  # ...but the name
    card = np.clip(card, 0, 255).astype(np.uint8)
    signal = detect_edited_image(_jpeg(card), card, Side.FRONT)
    assert signal.evidence["pixel_field"] == "name"
    assert signal.confidence >= 0.5
    assert signal.evidence["metadata_editor"] is None


# --- temporary ID -------------------------------------------------------------------


def test_temporary_card_text_flags() -> None:
    lines = [
        _line("姓名孙秀"),
        _line("有效期限2026.10.17-2027.01.16"),
        _line("签发机关杭州市公安局"),
        _line("公民身份号码330106198602027718"),
    ]
    signal = detect_temporary_id(lines)
    assert signal.confidence >= 0.5
    assert signal.evidence["validity_days"] == 91
    assert signal.evidence["all_items_one_side"] is True
    assert detect_temporary_id([], "临时居民身份证").confidence >= 0.5


def test_every_item_on_the_portrait_side_flags_without_the_dates() -> None:
    # the validity line split by the reader: no date range to measure, the items suffice
    lines = [
        _line("姓名"),
        _line("张伟"),
        _line("有效期限2026.10.17"),
        _line("1.16"),
        _line("公民身份号码"),
        _line("110105194911145675"),
    ]
    signal = detect_temporary_id(lines)
    assert signal.evidence["validity_days"] is None
    assert signal.confidence >= 0.5


def test_title_with_its_first_character_lost_is_temporary() -> None:
    assert detect_temporary_id([], "时居民身份证").confidence >= 0.5


def test_ordinary_back_is_not_temporary() -> None:
    lines = [_line("签发机关武汉市公安局洪山分局"), _line("有效期限2023.05.21-2033.05.21")]
    assert detect_temporary_id(lines, "居民身份证").confidence < 0.5


# --- screen -------------------------------------------------------------------------


def test_png_screenshot_at_screen_size_flags() -> None:
    page = np.full((1080, 1920, 3), 250, np.uint8)
    page[:80] = 222
    page[300:700, 600:1300] = _card(np.random.default_rng(2))[::1, ::1][:400, :700]
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, "PNG")
    signal = detect_screen_recapture(
        buffer.getvalue(), page, None, image_format="png", original_size=(1920, 1080)
    )
    assert signal.confidence >= 0.5
    assert signal.evidence["screen_sized"] and not signal.evidence["camera_exif"]


def test_subpixel_grid_shows_a_spectral_peak() -> None:
    rng = np.random.default_rng(3)
    card = cv2.resize(_card(rng, waves=False), (600, 380)).astype(np.float32)
    y, x = np.mgrid[0:380, 0:600]
    grid = 1.0 + 0.25 * np.sin(2 * np.pi * (0.37 * x + 0.05 * y))  # a beat of the grid
    screen = np.clip(card * grid[..., None], 0, 255).astype(np.uint8)
    corners = np.array([[0, 0], [599, 0], [599, 379], [0, 379]], np.float32)
    plain = detect_screen_recapture(
        b"", card.astype(np.uint8), corners, image_format="jpeg", original_size=(600, 380)
    )
    moire = detect_screen_recapture(
        b"", screen, corners, image_format="jpeg", original_size=(600, 380)
    )
    assert plain.confidence < 0.5 <= moire.confidence
    assert moire.evidence["spectral_peak"] > plain.evidence["spectral_peak"]


def test_printed_pitch_is_not_a_pixel_grid() -> None:
    """Text and guilloche repeat at a coarse pitch in luma alone (a genuine back's title):
    a peak there is no sign of a screen; the same beat with colour fringes is."""
    rng = np.random.default_rng(8)
    grey = cv2.cvtColor(cv2.resize(_card(rng, waves=False), (600, 380)), cv2.COLOR_BGR2GRAY)
    card = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR).astype(np.float32)  # neutral ink and paper
    y, x = np.mgrid[0:380, 0:600]
    beat = np.sin(2 * np.pi * (0.12 * x + 0.2 * y))
    inked = card - 15.0 * (1.0 + beat)[..., None]  # neutral print at a regular pitch
    print_pitch = np.clip(inked, 0, 255).astype(np.uint8)
    fringes = inked.copy()
    fringes[:, :, 0] += 12.0 * beat  # blue and red subpixels out of phase
    fringes[:, :, 2] -= 12.0 * beat
    fringes = np.clip(fringes, 0, 255).astype(np.uint8)
    corners = np.array([[0, 0], [599, 0], [599, 379], [0, 379]], np.float32)
    printed = detect_screen_recapture(
        b"", print_pitch, corners, image_format="jpeg", original_size=(600, 380)
    )
    screen = detect_screen_recapture(
        b"", fringes, corners, image_format="jpeg", original_size=(600, 380)
    )
    assert printed.confidence < 0.5 <= screen.confidence
    assert screen.evidence["peak_channel"] == "luma+chroma"


def test_colour_moire_on_the_card_paper_flags_where_no_spectral_peak_stands_out() -> None:
    """A low-resolution screen beats its subpixel stripes into rainbow bands that bend and
    widen across the card (no one frequency, so no spectral peak): the paper's chroma
    ripples between the print. A genuine card's tinted guilloche does not."""
    rng = np.random.default_rng(12)
    card = _card(rng).astype(np.float32)
    y, x = np.mgrid[0:540, 0:856].astype(np.float32)
    phase = 2 * np.pi * (x / 14.0 + (x * x + 0.6 * y * y) / 90_000.0)  # chirped bands
    rainbow = np.stack([np.cos(phase + k * 2 * np.pi / 3) for k in range(3)], axis=2)
    screen = np.clip(card + 22.0 * rainbow, 0, 255).astype(np.uint8)
    genuine = card.astype(np.uint8)
    corners = np.array([[0, 0], [855, 0], [855, 539], [0, 539]], np.float32)
    threshold = RiskConfig().screen_ripple_threshold

    def judged(image: np.ndarray):
        return detect_screen_recapture(
            b"",
            image,
            corners,
            image_format="jpeg",
            original_size=(856, 540),
            card=image,
            side=Side.FRONT,
            ripple_threshold=threshold,
        )

    plain, moire = judged(genuine), judged(screen)
    assert plain.evidence["colour_ripple"] < threshold <= moire.evidence["colour_ripple"]
    assert plain.confidence < 0.5 and moire.confidence >= 0.6
    assert moire.evidence["spectral_peak"] < moire.evidence["peak_threshold"]
    # without the rectified card (a card cut by the frame) the paper is not judged
    unplaced = detect_screen_recapture(
        b"", screen, corners, image_format="jpeg", original_size=(856, 540)
    )
    assert "colour_ripple" not in unplaced.evidence


# --- photocopy, portrait, covered field, several cards -----------------------------


def test_greyscale_copy_has_no_chroma() -> None:
    rng = np.random.default_rng(4)
    colour = _card(rng)
    grey = cv2.cvtColor(
        cv2.cvtColor(_card(rng, colour=False), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR
    )
    warm = np.clip(grey.astype(np.float32) * [0.85, 0.95, 1.0], 0, 255).astype(np.uint8)
    assert detect_photocopy(colour, Side.BACK).confidence < 0.5
    assert detect_photocopy(warm, Side.BACK).confidence >= 0.5  # a cast is not colour


def test_a_pale_card_with_a_red_emblem_is_no_greyscale_copy() -> None:
    """Little colour over the card as a whole, but an emblem in full red where the layout
    puts it: no greyscale copy keeps that. A card partly outside the photo (rectified with
    its edge pixels smeared over the rest) is not judged greyscale either."""
    grey = cv2.cvtColor(
        cv2.cvtColor(_card(np.random.default_rng(14), colour=False), cv2.COLOR_BGR2GRAY),
        cv2.COLOR_GRAY2BGR,
    )
    pale = grey.copy()
    cv2.circle(pale, (120, 110), 70, (40, 40, 200), -1)  # the emblem, in its red
    signal = detect_photocopy(pale, Side.BACK)
    assert signal.evidence["chroma_p95"] < 2.5 <= 20 <= signal.evidence["emblem_chroma"]
    assert signal.confidence < 0.5, signal.evidence
    assert detect_photocopy(grey, Side.BACK).confidence >= 0.5  # the grey copy itself
    outside = detect_photocopy(grey, Side.BACK, card_inside=False, region_placed=False)
    assert outside.confidence < 0.5


def _faded(card: np.ndarray, keep: float) -> np.ndarray:
    img = card.astype(np.float32)
    grey = img.mean(axis=2, keepdims=True)
    return np.clip(grey + (img - grey) * keep, 0, 255).astype(np.uint8)


def test_colour_copy_back_has_a_faded_emblem() -> None:
    card = _card(np.random.default_rng(11))
    genuine = detect_photocopy(card, Side.BACK)
    copy = detect_photocopy(_faded(card, 0.3), Side.BACK)
    assert genuine.confidence < 0.5
    assert copy.confidence >= 0.8 and copy.evidence["finding"] == "faded_emblem"


def test_an_emblem_clipped_to_white_by_the_light_is_not_judged_a_copy() -> None:
    """A bright light over the emblem clips its red to white: the pixels that kept no colour
    say nothing about the print (counted as grey, they made a genuine back a "copy")."""
    card = _card(np.random.default_rng(13)).astype(np.float32)
    spot = card[:230, :260]  # the emblem's corner of the card, under a hot light
    card[:230, :260] = 255 - (255 - spot) * 0.05
    lit = np.clip(card, 0, 255).astype(np.uint8)
    signal = detect_photocopy(lit, Side.BACK)
    assert signal.confidence < 0.5, signal.evidence
    assert signal.evidence["emblem_usable_share"] < 0.3
    assert "emblem_chroma" not in signal.evidence
    # the same card with its emblem's colour kept but faded is still a copy
    assert (
        detect_photocopy(_faded(_card(np.random.default_rng(13)), 0.3), Side.BACK).confidence >= 0.8
    )


def test_pale_portrait_alone_is_no_copy() -> None:
    pale = _faded(_card(np.random.default_rng(12), waves=False), 0.1)
    assert detect_photocopy(pale, Side.FRONT).confidence < 0.5


def test_blank_portrait_under_a_light_gradient_is_empty() -> None:
    card = _card(np.random.default_rng(13))
    card[50:410, 530:820] = 236
    ramp = np.linspace(0.8, 1.05, card.shape[1], dtype=np.float32)[None, :, None]
    lit = np.clip(card.astype(np.float32) * ramp, 0, 255).astype(np.uint8)
    signal = check_portrait(lit)
    assert signal.confidence >= 0.5 and signal.evidence["finding"] == "empty", signal.evidence


def test_portrait_of_a_card_not_placed_is_not_judged() -> None:
    blank = _card(np.random.default_rng(15))
    blank[50:410, 530:820] = 236
    signal = check_portrait(blank, placed=False)  # cut off, misplaced, too dark to read
    assert signal.confidence == 0.0 and signal.evidence["finding"] == "not_judged"


def test_finger_lighter_than_a_dim_card_is_covering() -> None:
    dim = (_card(np.random.default_rng(14)).astype(np.float32) * 0.6).astype(np.uint8)
    covered = dim.copy()
    cv2.ellipse(covered, (120, 90), (150, 45), 0, 0, 360, (170, 185, 235), -1)
    signal = detect_covered_field(covered, Side.FRONT)
    assert detect_covered_field(dim, Side.FRONT).confidence < 0.5
    assert signal.confidence >= 0.5 and signal.evidence["fields"] == ["name"], signal.evidence


def test_portrait_present_empty_and_doubled() -> None:
    rng = np.random.default_rng(5)
    card = _card(rng)
    assert check_portrait(card).confidence < 0.5
    blank = card.copy()
    blank[50:410, 530:820] = 236
    empty = check_portrait(blank)
    assert empty.confidence >= 0.5 and empty.evidence["finding"] == "empty"


def test_finger_over_number_names_the_field_and_glare_does_not() -> None:
    rng = np.random.default_rng(6)
    card = _card(rng)
    glared = card.copy()
    cv2.ellipse(glared, (300, 465), (160, 40), 0, 0, 360, (255, 255, 255), -1)
    assert detect_covered_field(glared, Side.FRONT).confidence < 0.5
    covered = card.copy()
    cv2.ellipse(covered, (300, 540), (90, 150), 0, 0, 360, (140, 170, 215), -1)
    signal = detect_covered_field(covered, Side.FRONT)
    assert signal.confidence >= 0.5
    assert signal.evidence["fields"] == ["id_number"]


def test_a_field_outside_the_photo_or_on_soft_print_is_not_judged_covered() -> None:
    """A number outside the photo was filled with the frame's edge pixels when the card was
    rectified: cut off, not covered. On a defocused card smeared print is a smooth blob
    too: the blur is what to name."""
    from samples.id_card.identities import identities
    from samples.id_card.render import render_front

    card = cv2.resize(render_front(identities(11, 1)[0]), (856, 540))  # crisp print
    covered = card.copy()
    cv2.ellipse(covered, (300, 540), (90, 150), 0, 0, 360, (140, 170, 215), -1)
    sharp = detect_covered_field(covered, Side.FRONT, min_sharpness=0.37)
    assert sharp.confidence >= 0.5 and sharp.evidence["fields"] == ["id_number"]
    outside = detect_covered_field(covered, Side.FRONT, in_photo=["name"])
    assert outside.confidence < 0.5 and outside.evidence["cover"]["id_number"] is None
    soft = cv2.GaussianBlur(covered, (0, 0), 4)
    assert detect_covered_field(soft, Side.FRONT).confidence >= 0.5  # the blob is still there
    signal = detect_covered_field(soft, Side.FRONT, min_sharpness=0.37)
    assert signal.confidence < 0.5  # ... but on print this soft it is not judged
    assert signal.evidence["finding"] == "not_judged_soft_print"


def test_two_cards_are_counted() -> None:
    rng = np.random.default_rng(7)
    frame = np.full((1200, 1800, 3), 60, np.uint8)
    card = cv2.resize(_card(rng), (700, 442))
    one = frame.copy()
    one[380:822, 550:1250] = card
    two = frame.copy()
    two[380:822, 100:800] = card
    two[380:822, 1000:1700] = card
    assert count_cards(one).confidence < 0.5
    assert count_cards(two).confidence >= 0.5
    assert count_cards(two).evidence["card_quads"] == 2


def _corners(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def test_a_sheet_of_paper_beside_the_card_is_no_second_card() -> None:
    rng = np.random.default_rng(9)
    frame = np.full((1200, 1800, 3), 60, np.uint8)
    frame[380:822, 100:800] = cv2.resize(_card(rng), (700, 442))
    frame[330:870, 1000:1720] = 235  # a 4:3 sheet, card-sized
    signal = count_cards(frame, (), _corners(100, 380, 800, 822))
    assert signal.confidence < 0.5, signal.evidence
    a4 = frame.copy()
    a4[330:870, 1000:1720] = 60
    a4[350:850, 1000:1707] = 235  # an A4 sheet (1.414), card-sized
    assert abs(np.log(707 / 500 / (85.6 / 54))) > 0.10
    signal = count_cards(a4, (), _corners(100, 380, 800, 822))
    assert signal.confidence < 0.5 and signal.evidence["quad_aspects"] == [], signal.evidence
    card = a4.copy()
    card[350:850, 1000:1707] = 60
    card[380:822, 1000:1700] = 235  # a card-shaped one in its place
    assert count_cards(card, (), _corners(100, 380, 800, 822)).confidence >= 0.5


def test_two_cards_touching_make_one_long_outline() -> None:
    rng = np.random.default_rng(10)
    frame = np.full((1200, 1800, 3), 60, np.uint8)
    card = cv2.resize(_card(rng), (700, 442))
    frame[380:822, 200:900] = card
    frame[380:822, 900:1600] = card
    signal = count_cards(frame, (), _corners(200, 380, 900, 822))
    assert signal.confidence >= 0.5
    assert signal.evidence["merged_pair"] is True


# --- policies and surfaces ----------------------------------------------------------


def test_policies_default_from_the_issue_and_typos_are_errors() -> None:
    risks = IdCardConfig().risks
    assert risks.policy(RiskCode.SCREEN_RECAPTURE) == "reject"
    assert risks.policy(RiskCode.PHOTOCOPY) == "reject"
    assert risks.policy(RiskCode.EDITED_IMAGE) == "warn"
    assert risks.policy(RiskCode.TEMPORARY_ID) == "manual_review"
    with pytest.raises(ValidationError):
        RiskConfig(screen_recaptures="warn")
    with pytest.raises(ValidationError):
        RiskConfig(photocopy="block")


def test_reject_reason_has_a_chinese_message_naming_the_field() -> None:
    signal = detect_covered_field(
        cv2.ellipse(
            _card(np.random.default_rng(8)), (300, 540), (90, 150), 0, 0, 360, (140, 170, 215), -1
        ),
        Side.FRONT,
    )
    reason = risk_reason(signal, Side.FRONT)
    assert reason.code is ReasonCode.COVERED_FIELD
    assert "号码" in reason.message and "遮挡" in reason.message


def test_verification_surfaces_risks_and_manual_review() -> None:
    risk = {
        "code": "TEMPORARY_ID",
        "confidence": 0.95,
        "evidence": {},
        "policy": "manual_review",
        "side": "front",
    }
    measurements = {"front": {"stages": {"risks": {"measured": {"risks": [risk]}}}}, "back": {}}
    result = IdVerification("rejected", (), {}, measurements, {})
    assert result.risks == [risk]
    assert result.manual_review
    out = result.to_dict()
    assert out["risks"] == [risk] and out["manual_review"] is True


def test_a_side_to_photograph_again_is_not_sent_to_manual_review() -> None:
    """A flagged manual-review risk beside a capture rejection (blurred, cut off, the wrong
    side) asks the candidate for a new photo first, instead of queueing it for a person."""
    risk = {
        "code": "PORTRAIT",
        "confidence": 0.9,
        "evidence": {},
        "policy": "manual_review",
        "side": "front",
    }
    blurred = {"reasons": ["BLURRY"], "passed": False}
    measurements = {
        "front": {"stages": {"risks": {"measured": {"risks": [risk]}}, "capture": blurred}},
        "back": {"stages": {"capture": {"reasons": [], "passed": True}}},
    }
    assert not IdVerification("rejected", (), {}, measurements, {}).manual_review
    measurements["front"]["stages"]["capture"] = {"reasons": [], "passed": True}
    assert IdVerification("rejected", (), {}, measurements, {}).manual_review


# --- the face detector of the portrait check ---------------------------------------


def _front_art(seed: int) -> np.ndarray:
    """A samples.id_random front (its portrait a drawn face), flat at the canonical size."""
    import random

    from samples.id_random.card import draw_card
    from samples.id_random.generate import TODAY
    from samples.id_random.people import make_person

    rng = random.Random(seed)
    art = draw_card(make_person(rng, TODAY), "front", rng, np.random.default_rng(seed))
    return cv2.resize(art.image, (856, 540), interpolation=cv2.INTER_AREA)


def _two_faces(card: np.ndarray) -> np.ndarray:
    """samples.id_attacks' portrait_two_faces, on the canonical card: the portrait at half
    size twice side by side, on the paper around it."""
    card = card.copy()
    x0, y0, x1, y1 = (int(v) for v in (0.625 * 856, 0.10 * 540, 0.95 * 856, 0.74 * 540))
    region = card[y0:y1, x0:x1]
    paper = np.median(card[y0:y1, x0 - 30 : x0].reshape(-1, 3), axis=0)
    half = cv2.resize(region, (region.shape[1] // 2, region.shape[0] // 2))
    region[:] = paper
    top = region.shape[0] // 3
    region[top : top + half.shape[0], : half.shape[1]] = half
    region[top : top + half.shape[0], half.shape[1] : 2 * half.shape[1]] = half
    return card


def test_one_face_passes_and_two_faces_flag() -> None:
    faces = risks.face_detector()
    assert faces is not None
    card = _front_art(11)
    one = check_portrait(card, faces=faces)
    assert one.confidence < 0.5 and one.evidence["faces"] == 1, one.evidence
    two = check_portrait(_two_faces(card), faces=faces)
    assert two.confidence >= 0.5, two.evidence
    assert two.evidence["finding"] == "several_faces" and two.evidence["faces"] >= 2
    assert all(s >= 0.5 for s in two.evidence["face_scores"])
    # Not judged, not looked for: the region may not be where the card was rectified.
    assert check_portrait(_two_faces(card), faces=faces, placed=False).confidence == 0.0


def test_a_changed_face_model_is_refused_and_the_finding_skipped(
    tmp_path, monkeypatch, caplog
) -> None:
    import models

    entry = models.load_bundled()["face"]
    genuine = models.bundled_path(entry)
    assert genuine.is_file() and genuine.parent == Path(models.__file__).parent
    tampered = tmp_path / entry.file
    data = bytearray(genuine.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match"):
        risks.load_face_detector(entry, tampered)
    with pytest.raises(ValueError, match="missing"):
        risks.load_face_detector(entry, tmp_path / "absent.tflite")
    # The check itself never fails: a refused model skips the finding with a warning.
    monkeypatch.setattr(models, "bundled_path", lambda _entry: tampered)
    monkeypatch.setattr(portrait, "_face_loaded", False)
    monkeypatch.setattr(portrait, "_face_detector", None)
    with caplog.at_level(logging.WARNING, logger=portrait.__name__):
        assert risks.face_detector() is None
    assert "does not match" in caplog.text
    signal = check_portrait(_two_faces(_front_art(11)), faces=risks.face_detector())
    assert "faces" not in signal.evidence and signal.confidence < 0.5


# --- no face in the portrait (an object, a landscape) -------------------------------

NO_FACE = {"no_face_score": RiskConfig().portrait_no_face_score, "card_long_px": 1000.0}


def _object_in_portrait(card: np.ndarray, landscape: bool) -> np.ndarray:
    """samples.id_attacks' portrait_object on the canonical card: sky over hills, or a disc
    on a table, in place of the photo."""
    card = card.copy()
    x0, y0, x1, y1 = (int(v) for v in (0.625 * 856, 0.10 * 540, 0.95 * 856, 0.74 * 540))
    region = card[y0:y1, x0:x1]
    h, w = region.shape[:2]
    if landscape:
        sky = np.linspace(0, 1, h)[:, None, None]
        region[:] = (
            np.array([235, 200, 150]) * (1 - sky) + np.array([250, 235, 210]) * sky
        ).astype(np.uint8)
        hill = (h * (0.55 + 0.1 * np.sin(np.linspace(0, 5, w)))).astype(int)
        for x in range(w):
            region[hill[x] :, x] = (60, 140, 70)
    else:
        region[:] = np.median(card[y0:y1, x0 - 30 : x0].reshape(-1, 3), axis=0)
        cv2.circle(region, (w // 2, h // 2), int(0.4 * w), (40, 90, 200), -1)
        cv2.rectangle(region, (0, int(0.8 * h)), (w, h), (70, 90, 120), -1)
    return card


def _golden_front(key: str) -> np.ndarray:
    """A samples.id_card front (the golden pairs' renderer), flat at the canonical size."""
    from samples.id_card.generate import golden_identities
    from samples.id_card.render import render_front

    return render_front(golden_identities()[key])


@pytest.mark.parametrize("landscape", [False, True], ids=["object", "landscape"])
def test_an_object_in_the_portrait_has_no_face_and_flags(landscape: bool) -> None:
    faces = risks.face_detector()
    assert faces is not None
    for card in (_front_art(11), _golden_front("a")):
        genuine = check_portrait(card, faces=faces, **NO_FACE)
        assert genuine.confidence < 0.5 and genuine.evidence["faces"] == 1, genuine.evidence
        assert genuine.evidence["face_best"] >= 0.7
        signal = check_portrait(_object_in_portrait(card, landscape), faces=faces, **NO_FACE)
        assert signal.confidence >= 0.5, signal.evidence
        assert signal.evidence["finding"] == "no_face"
        assert signal.evidence["finding_by"] == "face_detector"
        assert signal.evidence["face_best"] < signal.evidence["no_face_score"]
        assert signal.evidence["region_px"] == round(1000 * 54 / 85.6 * 0.64)


def test_no_face_is_not_judged_where_a_face_could_not_be_seen() -> None:
    faces = risks.face_detector()
    thing = _object_in_portrait(_front_art(11), landscape=True)
    config = RiskConfig()
    # The portrait region too small in the photo, or the card's size there unknown.
    small = config.portrait_min_region_px / (54 / 85.6 * 0.64) * 0.9
    for long_px in (small, None):
        signal = check_portrait(
            thing,
            faces=faces,
            no_face_score=config.portrait_no_face_score,
            card_long_px=long_px,
            min_region_px=config.portrait_min_region_px,
        )
        assert signal.confidence < 0.5 and signal.evidence["finding"] != "no_face", signal.evidence
    # Turned off, or no detector: nothing looked for.
    assert (
        check_portrait(thing, faces=faces, no_face_score=None, card_long_px=1000).confidence < 0.5
    )
    assert check_portrait(thing, faces=None, **NO_FACE).confidence < 0.5
    assert check_portrait(thing, faces=faces, placed=False, **NO_FACE).confidence == 0.0


def test_every_golden_renderer_front_shows_one_face() -> None:
    """samples.id_card draws a face the detector finds (it drew a faceless silhouette, and
    "no face" could not flag): every golden identity, well above the no-face score."""
    from samples.id_card.generate import golden_identities

    faces = risks.face_detector()
    for key in golden_identities():
        signal = check_portrait(_golden_front(key), faces=faces, **NO_FACE)
        assert signal.evidence["faces"] == 1 and signal.confidence < 0.5, (key, signal.evidence)


@pytest.mark.slow
def test_generated_object_portraits_flag_and_genuine_fronts_do_not(ocr_engine) -> None:
    """End to end on generated photos (decode, outline, read, risks): samples.id_attacks'
    portrait_object (a disc on a table, a landscape) flags no_face; a samples.id_random
    genuine capture and a golden samples.id_card front do not."""
    from samples.id_attacks.generate import build_attack
    from samples.id_random.generate import build_case

    config = IdCardConfig()
    pipeline = _risk_pipeline(ocr_engine, config)

    def portrait_of(data: bytes) -> tuple[list[str], dict]:
        report = pipeline.run({"data": data, "side": Side.FRONT})
        assessment = report["risks"].output
        return [s.code.value for s in assessment.flagged], dict(
            assessment[RiskCode.PORTRAIT].evidence
        )

    for i in (0, 4):  # seed 2026: 0 a disc on a table, 4 a landscape
        _, data = build_attack("portrait_object", i, 2026)
        flagged, evidence = portrait_of(data)
        assert "PORTRAIT" in flagged and evidence["finding"] == "no_face", evidence
        assert evidence["face_best"] < config.risks.portrait_no_face_score
    _, images = build_case(1, 2026)  # good_flat
    golden = Path(__file__).resolve().parents[2] / "samples" / "golden" / "id" / "a_front.jpg"
    for data in (images["front"], golden.read_bytes()):
        flagged, evidence = portrait_of(data)
        assert flagged == [], evidence
        assert evidence["faces"] == 1 and evidence["finding"] == "one_figure", evidence
        assert evidence["face_best"] >= 0.7


def _risk_pipeline(engine: object, config: IdCardConfig) -> object:
    from pipelines.id_card.pipeline import side_pipeline

    return side_pipeline(engine, config).until("risks")  # type: ignore[arg-type]


def test_a_second_portrait_side_of_other_artwork_is_told_by_its_face(ocr_engine) -> None:
    """Two portrait sides side by side whose artwork differs: neither outline stands clear of
    the desk and the read card's look matches the other only in part (0.40 against the 0.6
    a second card of the same artwork reaches); the face where that placement puts its
    portrait settles it (samples.id_attacks two_cards, seed 3006, case 8)."""
    from samples.id_attacks.generate import build_attack

    pipeline = _risk_pipeline(ocr_engine, IdCardConfig())
    _, data = build_attack("two_cards", 8, 3006)
    assessment = pipeline.run({"data": data, "side": Side.FRONT})["risks"].output
    evidence = assessment[RiskCode.MULTIPLE_CARDS].evidence
    assert "MULTIPLE_CARDS" in [s.code.value for s in assessment.flagged], evidence
    assert evidence["layout_match"] < 0.6 and evidence["card_quads"] >= 2, evidence
    assert evidence["second_portrait_face"] >= 0.7, evidence


def test_two_cards_read_as_one_block_of_text_are_two_cards(ocr_engine) -> None:
    """Two emblem sides side by side with their text rows level: the detector joins them
    into one block, which is read as the card. Two card-shaped outlines apart inside it,
    each a third of it or more, cannot both fit on one card (samples.id_attacks two_cards,
    seed 3008, case 2); on 1,050 good sides no reading held even one."""
    from samples.id_attacks.generate import build_attack

    pipeline = _risk_pipeline(ocr_engine, IdCardConfig())
    _, data = build_attack("two_cards", 2, 3008)
    report = pipeline.run({"data": data, "side": Side.BACK})
    evidence = report["risks"].output[RiskCode.MULTIPLE_CARDS].evidence
    assert report["read"].output.path == "text", evidence
    assert evidence["cards_inside_reading"] == 2, evidence
    assert "MULTIPLE_CARDS" in [s.code.value for s in report["risks"].output.flagged]
